"""Bounded waits on PostgreSQL (R21, "Bounded waits"): against real servers we block,
stop, restart and silence.

* A lock held by another session: a purchase gives up after the URL's
  ``lock_timeout`` with a `StoreUnavailable` that names it, and writes nothing.
* A statement past ``statement_timeout`` is cut off the same way.
* A server that is down: each call gives up within ``connect_timeout`` (+1 s),
  where eventsourcing's own retries took ten of them.
* A server that accepts TCP and never answers: `Ledger.open` gives up within
  ``connect_timeout`` (+1 s).
* After a restart, the same `Ledger`'s first command succeeds within 2 s.

The bounds are the contract, so each is asserted with its slack; the times
themselves are printed (and in the closing note), not asserted tighter.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from ledger import Ledger
from ledger.errors import InvalidInput, StoreUnavailable
from ledger.stores import parse_store_url
from tests.private_postgres import PrivatePostgres, private_postgres, silent_server, wait_until_up
from tests.support import AGENT, QUIET, ManualClock, add_tenant, buy, footprint


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePostgres]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with private_postgres() as running:
        yield running


def _open(url: str) -> Ledger:
    return Ledger.open(url, clock=ManualClock(), secret_key=os.urandom(32), logger=QUIET)


def _timed_failure(call: object) -> tuple[float, StoreUnavailable]:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        call()  # type: ignore[operator]
    return time.monotonic() - started, raised.value


def _purchase_behind_a_held_lock(
    server: PrivatePostgres, led: Ledger, tenant_id: UUID
) -> tuple[float, StoreUnavailable]:
    """A purchase while another session holds the events table locked: how long it took to
    fail, and its error. The lock is released before this returns."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(server.url, connect_timeout=5) as conn:
            conn.execute("LOCK TABLE public.ledger_events IN ACCESS EXCLUSIVE MODE")
            held.set()
            release.wait(30)
            conn.rollback()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert held.wait(10)
        return _timed_failure(lambda: buy(led, tenant_id))
    finally:
        release.set()
        holder.join()


@pytest.mark.parametrize("lock_timeout", [1, 2])
def test_a_purchase_behind_a_held_lock_gives_up_after_lock_timeout(
    server: PrivatePostgres, lock_timeout: int
) -> None:
    with _open(f"{server.url}?lock_timeout={lock_timeout}") as led:
        tenant_id = add_tenant(led)
        before = footprint(led)
        took, error = _purchase_behind_a_held_lock(server, led, tenant_id)
        print(f"lock held elsewhere, lock_timeout={lock_timeout}: gave up after {took:.2f} s")
        assert "lock_timeout" in str(error)
        assert lock_timeout - 0.1 <= took < lock_timeout + 1.5
        assert footprint(led) == before
        buy(led, tenant_id)  # the lock is gone: the same Ledger works


def test_a_statement_past_statement_timeout_is_cut_off(server: PrivatePostgres) -> None:
    # lock_timeout=0 is PostgreSQL's "wait for ever": only statement_timeout bounds it.
    with _open(f"{server.url}?lock_timeout=0&statement_timeout=1") as led:
        tenant_id = add_tenant(led)
        took, error = _purchase_behind_a_held_lock(server, led, tenant_id)
        print(f"statement_timeout=1: gave up after {took:.2f} s")
        assert "statement_timeout" in str(error)
        assert took < 2.5


def test_a_server_down_is_reported_within_connect_timeout_and_is_used_once_back(
    server: PrivatePostgres,
) -> None:
    with _open(f"{server.url}?connect_timeout=2") as led:
        tenant_id = add_tenant(led)
        buy(led, tenant_id)
        server.stop()
        try:
            took, error = _timed_failure(lambda: buy(led, tenant_id))
            print(f"server down, connect_timeout=2: a purchase gave up after {took:.2f} s")
            assert took < 2 + 1
            assert "connect_timeout" in str(error) or "did not answer" in str(error)
            took, _ = _timed_failure(lambda: led.software(AGENT, tenant_id))
            print(f"server down: a query gave up after {took:.2f} s")
            assert took < 2 + 1
        finally:
            server.start()
        wait_until_up(server)
        started = time.monotonic()
        buy(led, tenant_id)
        took = time.monotonic() - started
        print(f"first purchase after the server is back: {took:.2f} s")
        assert took < 2


def test_the_first_command_after_a_restart_succeeds_within_two_seconds(
    server: PrivatePostgres,
) -> None:
    with _open(server.url) as led:
        tenant_id = add_tenant(led)
        buy(led, tenant_id)
        led.software(AGENT, tenant_id)
        server.restart()  # every pooled connection is now dead
        started = time.monotonic()
        buy(led, tenant_id)
        took = time.monotonic() - started
        print(f"first purchase after a restart: {took:.2f} s")
        assert took < 2
        assert len(led.software(AGENT, tenant_id)) == 2


@pytest.mark.parametrize("connect_timeout", [2, 3])
def test_open_on_a_server_that_never_answers_gives_up_within_connect_timeout(
    connect_timeout: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with silent_server() as port:
        url = f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout={connect_timeout}"
        took, error = _timed_failure(lambda: _open(url))
    print(f"silent server, connect_timeout={connect_timeout}: open gave up after {took:.2f} s")
    assert took < connect_timeout + 1
    assert "PostgreSQL" in str(error)


@pytest.mark.parametrize(
    "query",
    [
        "lock_timeout=x",
        "lock_timeout=3601",
        "statement_timeout=-1",
        "lock_timeout=1&lock_timeout=2",
    ],
)
def test_timeouts_out_of_range_are_invalid_input_naming_the_url(query: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Ledger.open(f"postgresql://postgres@127.0.0.1:1/test?{query}")
    assert raised.value.field == "url"


def test_every_session_carries_the_urls_timeouts() -> None:
    store = parse_store_url("postgresql://u@h/db?lock_timeout=7&statement_timeout=90")
    assert store.postgres_options == "-c lock_timeout=7000 -c statement_timeout=90000"
    default = parse_store_url("postgresql://u@h/db")
    assert default.postgres_options == "-c lock_timeout=5000 -c statement_timeout=60000"
    assert default.connect_timeout == 5
