"""Store faults: the database fails under a running ledger.

* PostgreSQL sessions of the ledger are killed (``pg_terminate_backend``),
  once and then over and over while commands run: each call either works
  (reads are retried on a fresh connection, eventsourcing retries its
  inserts) or raises `StoreUnavailable`; never a driver error, never a
  half-written command; once the killing stops, the same `Ledger` works.
* A SQLite file is locked by another writer past the ledger's lock timeout:
  writes and catch-ups raise `StoreUnavailable` and write nothing; once the
  lock is gone the same `Ledger` works.
"""

from __future__ import annotations

import os
import random
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from ledger import Ledger, Money
from ledger.errors import AlreadyCancelled, LedgerError, StoreUnavailable
from ledger.stores import parse_store_url
from tests.conftest import POSTGRES_URL, require_postgres
from tests.support import (
    QUIET,
    ManualClock,
    add_tenant,
    buy,
    footprint,
    partner,
    product,
    tenant_with_order,
)

AGENT = partner()


def kill_sessions(dsn: str, application_name: str) -> int:
    with psycopg.connect(dsn, autocommit=True, application_name="ledger-fault-killer") as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
    return sum(1 for (killed,) in rows if killed)


@pytest.fixture
def tagged_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """The ledger's own sessions carry an application name, so only they are killed."""
    name = f"ledger-faults-{secrets.token_hex(4)}"
    monkeypatch.setenv("PGAPPNAME", name)
    dsn = parse_store_url(postgres_url).postgres_dsn
    assert dsn is not None
    return postgres_url, dsn, name


def test_killed_postgres_sessions_are_replaced_and_the_ledger_carries_on(
    tagged_postgres: tuple[str, str, str],
) -> None:
    url, dsn, name = tagged_postgres
    with Ledger.open(url, clock=ManualClock(), secret_key=os.urandom(32), logger=QUIET) as led:
        tenant_id, order_id = tenant_with_order(led)
        led.software(AGENT, tenant_id)
        assert kill_sessions(dsn, name) > 0
        # Every kind of call on the connections that were just killed.
        second = buy(led, tenant_id)
        assert kill_sessions(dsn, name) > 0
        assert len(led.view_key(AGENT, second)) == 29
        assert kill_sessions(dsn, name) > 0
        assert led.cancel(AGENT, order_id).credit == Money("100.00", "EUR")
        assert kill_sessions(dsn, name) > 0
        assert {item.order_id for item in led.software(AGENT, tenant_id)} == {order_id, second}
        assert kill_sessions(dsn, name) > 0
        assert led.audit.rebuild().matches


def test_postgres_sessions_killed_over_and_over_give_store_unavailable_never_half_a_command(
    tagged_postgres: tuple[str, str, str], request: pytest.FixtureRequest
) -> None:
    url, dsn, name = tagged_postgres
    led = Ledger.open(url, clock=ManualClock(), secret_key=os.urandom(32), logger=QUIET)
    tenant_id = add_tenant(led)
    stop = threading.Event()
    kills = Counter[str]()

    def killer() -> None:
        # Every half second or so: connections die under running commands.
        while not stop.wait(0.3 + random.random() * 0.5):
            kills["sessions"] += kill_sessions(dsn, name)

    outcomes = Counter[str]()
    keys: list[str] = []
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    deadline = time.monotonic() + 6
    try:
        while time.monotonic() < deadline:
            key = f"po-{len(keys)}"
            keys.append(key)
            for call in ("purchase", "view", "cancel", "software"):
                try:
                    if call == "purchase":
                        order_id = _keyed_purchase(led, tenant_id, key)
                    elif call == "view":
                        led.view_key(AGENT, order_id)
                    elif call == "cancel" and key.endswith("0"):
                        led.cancel(AGENT, order_id)
                    elif call == "software":
                        led.software(AGENT, tenant_id)
                    outcomes["ok"] += 1
                except StoreUnavailable:
                    outcomes["StoreUnavailable"] += 1
                    break  # the next key; this one is sent again after the outage
                except AlreadyCancelled:
                    outcomes["ok"] += 1
    finally:
        stop.set()
        thread.join()
    assert kills["sessions"] > 0
    # The outage is over: the same Ledger object sends every key again and all is well.
    ids = {key: _keyed_purchase(led, tenant_id, key) for key in keys}
    items = {item.order_id: item for item in led.software(AGENT, tenant_id)}
    assert set(items) == set(ids.values()), "an order was lost or doubled"
    for order_id in ids.values():
        if items[order_id].status == "active":
            assert len(led.view_key(AGENT, order_id)) == 29  # licence and data key, whole
    report = led.audit.rebuild()
    assert report.matches, report.differences
    led.close()
    request.node.user_properties.append(
        (
            "races",
            f"PostgreSQL: {kills['sessions']} ledger sessions killed under {sum(outcomes.values())}"
            f" calls: {outcomes['ok']} ok, {outcomes['StoreUnavailable']} StoreUnavailable, 0 other"
            " errors; afterwards the same Ledger re-sent every key: none lost, none doubled",
        )
    )


def _keyed_purchase(led: Ledger, tenant_id: UUID, key: str) -> UUID:
    return led.purchase(AGENT, tenant_id, product(), 1, Money("3.00", "EUR"), key)


@pytest.fixture
def own_role(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A role of its own owning a schema of its own: its logins can be refused and restored."""
    require_postgres()
    admin = parse_store_url(postgres_url).postgres_dsn
    assert admin is not None
    role = f"ledger_outage_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'CREATE SCHEMA "{role}" AUTHORIZATION {role}')
    try:
        # A short connect_timeout: each call gives up after about ten of them.
        yield f"postgresql://{role}@127.0.0.1:5432/test?schema={role}&connect_timeout=1", role
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} LOGIN")
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            conn.execute(f'DROP SCHEMA IF EXISTS "{role}" CASCADE')
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def _logins(role: str, *, allowed: bool) -> None:
    admin = parse_store_url(POSTGRES_URL).postgres_dsn
    assert admin is not None
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} {'LOGIN' if allowed else 'NOLOGIN'}")
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )


def test_a_postgres_outage_is_store_unavailable_and_the_same_ledger_works_once_it_is_over(
    own_role: tuple[str, str],
) -> None:
    url, role = own_role
    with Ledger.open(url, clock=ManualClock(), secret_key=os.urandom(32), logger=QUIET) as led:
        tenant_id, order_id = tenant_with_order(led)
        led.catch_up()
        before = footprint(led)
        _logins(role, allowed=False)  # its sessions die and new ones are refused
        try:
            with pytest.raises(StoreUnavailable, match="did not answer"):
                _keyed_purchase(led, tenant_id, "during-the-outage")
        finally:
            _logins(role, allowed=True)
        # The same Ledger, once the database lets it in again (the pool reconnects).
        again = _keyed_purchase(led, tenant_id, "during-the-outage")
        assert led.cancel(AGENT, order_id).credit == Money("100.00", "EUR")
        items = led.software(AGENT, tenant_id)
        assert {item.order_id for item in items} == {order_id, again}
        assert len(led.view_key(AGENT, again)) == 29  # its licence and data key, whole
        after = footprint(led)
        assert after[0] > before[0]
        assert led.audit.rebuild().matches


def test_a_sqlite_file_locked_past_the_timeout_gives_store_unavailable_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}?lock_timeout=1"
    with Ledger.open(url, clock=ManualClock(), secret_key=os.urandom(32), logger=QUIET) as led:
        tenant_id, order_id = tenant_with_order(led)
        pending = buy(led, tenant_id)  # recorded, not yet in the views
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        try:
            before = footprint(led)
            started = time.monotonic()
            for call in (
                lambda: buy(led, tenant_id),
                lambda: led.cancel(AGENT, order_id),
                lambda: led.view_key(AGENT, order_id),
                lambda: led.software(AGENT, tenant_id),  # must apply `pending` to the views
            ):
                with pytest.raises(StoreUnavailable, match="locked"):
                    call()
            assert time.monotonic() - started < 30, "the lock timeout was not honoured"
            assert footprint(led) == before
        finally:
            blocker.rollback()
            blocker.close()
        # The lock is gone: the same Ledger works.
        assert led.cancel(AGENT, order_id).credit == Money("100.00", "EUR")
        assert {item.order_id for item in led.software(AGENT, tenant_id)} == {order_id, pending}
        assert led.audit.rebuild().matches


def test_store_unavailable_is_a_configuration_error_and_a_ledger_error() -> None:
    assert issubclass(StoreUnavailable, LedgerError)
    with pytest.raises(LedgerError):
        Ledger.open("postgresql://postgres@127.0.0.1:1/test", secret_key=os.urandom(32))
