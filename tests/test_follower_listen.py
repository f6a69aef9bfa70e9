"""A follower outlives its LISTEN connection (SPEC §12), on a PostgreSQL server of its own.

eventsourcing's subscription stops for good when its LISTEN connection is killed
(eventsourcing issue #305). The ledger's follower listens again: after
``pg_terminate_backend`` of that connection, and after a restart of the server,
new events are applied within the poll interval (with a second of slack).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger import Ledger
from tests.private_postgres import PrivatePostgres, private_postgres, wait_until_up
from tests.support import QUIET, add_tenant, buy

POLL = 0.5
SECRET = os.urandom(32)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePostgres]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with private_postgres() as running:
        yield running


def _open(server: PrivatePostgres) -> Ledger:
    return Ledger.open(server.url, secret_key=SECRET, logger=QUIET, views="follower")


def _applied_within(writer: Ledger, follower: Ledger, seconds: float) -> float:
    head = writer.views_status().head
    started = time.monotonic()
    while follower.views_status().position < head:
        assert time.monotonic() - started < seconds, "the follower stopped applying events"
        time.sleep(0.02)
    return time.monotonic() - started


def _kill_listeners(server: PrivatePostgres) -> int:
    with psycopg.connect(server.url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_a_follower_listens_again_after_its_connection_is_killed_and_after_a_restart(
    server: PrivatePostgres,
) -> None:
    with _open(server) as writer, _open(server) as follower:
        stop, failed = threading.Event(), []

        def follow() -> None:
            try:
                follower.follow(stop, poll_interval=POLL)
            except Exception as error:  # the test reports it
                failed.append(error)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            tenant = add_tenant(writer)
            buy(writer, tenant)
            _applied_within(writer, follower, 5)
            assert _kill_listeners(server) == 1
            for _ in range(3):
                buy(writer, tenant)
                took = _applied_within(writer, follower, POLL + 1)
            print(f"after its LISTEN connection was killed: applied within {took:.2f} s")
            server.restart()
            wait_until_up(server)
            for _ in range(3):
                buy(writer, tenant)
                took = _applied_within(writer, follower, POLL + 1)
            print(f"after a restart of the server: applied within {took:.2f} s")
            assert thread.is_alive(), failed
        finally:
            stop.set()
            thread.join(10)
        assert failed == []
