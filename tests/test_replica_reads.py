"""§12: queries may read from a replica, and a `Ledger` still sees its own writes.

A private primary and a hot standby of it (streaming replication, ``pg_basebackup -R``).
Pausing the standby's WAL replay shows where the reads go: a query after our own write
then waits for the replica and raises `ViewsBehind`, which a read of the primary never
would; once replay resumes the same query answers.
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
from ledger.errors import InvalidInput, ViewsBehind
from tests.private_postgres import PrivatePostgres, private_postgres, streaming_replica
from tests.support import AGENT, QUIET, add_tenant, buy, footprint, tenant_with_order

SECRET = os.urandom(32)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[PrivatePostgres, PrivatePostgres]]:
    with private_postgres() as primary, streaming_replica(primary) as replica:
        yield primary, replica


@pytest.fixture
def servers(
    cluster: tuple[PrivatePostgres, PrivatePostgres],
) -> Iterator[tuple[PrivatePostgres, PrivatePostgres]]:
    """The cluster with replay running; each test starts from an empty store."""
    primary, replica = cluster
    yield primary, replica
    replica.sql("SELECT pg_wal_replay_resume()")
    primary.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def _open(primary: PrivatePostgres, replica: PrivatePostgres | None, **options: object) -> Ledger:
    return Ledger.open(
        primary.url,
        secret_key=SECRET,
        logger=QUIET,
        replica_url=None if replica is None else replica.url,
        **options,  # type: ignore[arg-type]
    )


def _pause(replica: PrivatePostgres) -> None:
    replica.sql("SELECT pg_wal_replay_pause()")
    with psycopg.connect(replica.url, autocommit=True) as conn:
        for _ in range(100):
            state = conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
            if state == ("paused",):
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not pause its replay")


def test_a_ledger_reads_its_own_writes_from_the_replica(
    servers: tuple[PrivatePostgres, PrivatePostgres],
) -> None:
    primary, replica = servers
    with _open(primary, replica) as led:
        waits = []
        for _ in range(20):
            tenant_id, order_id = tenant_with_order(led)
            started = time.monotonic()
            listed = led.software(AGENT, tenant_id)
            waits.append(time.monotonic() - started)
            assert [item.order_id for item in listed] == [order_id]
        waits.sort()
        p50, worst = waits[10] * 1000, waits[-1] * 1000
        print(f"\nquery right after a purchase: p50 {p50:.1f} ms, max {worst:.1f} ms")


def test_the_queries_go_to_the_replica_and_wait_for_it_with_a_bound(
    servers: tuple[PrivatePostgres, PrivatePostgres],
) -> None:
    primary, replica = servers
    with _open(primary, replica, views_timeout=0.5) as led:
        tenant_id, first = tenant_with_order(led)
        assert len(led.software(AGENT, tenant_id)) == 1
        _pause(replica)
        second = buy(led, tenant_id)
        started = time.monotonic()
        with pytest.raises(ViewsBehind) as behind:
            led.software(AGENT, tenant_id)
        waited = time.monotonic() - started
        assert 0.5 <= waited < 2.0
        assert behind.value.position == led._uow.last_position
        assert behind.value.views_position < behind.value.position
        # The primary holds the write and its views: only the replica is behind.
        with _open(primary, None) as on_primary:
            assert {i.order_id for i in on_primary.software(AGENT, tenant_id)} == {first, second}
        replica.sql("SELECT pg_wal_replay_resume()")
        assert {i.order_id for i in led.software(AGENT, tenant_id)} == {first, second}


def test_another_ledger_reads_what_the_replica_holds_without_waiting(
    servers: tuple[PrivatePostgres, PrivatePostgres],
) -> None:
    primary, replica = servers
    with _open(primary, replica) as writer, _open(primary, replica, views_timeout=0.5) as reader:
        tenant_id, first = tenant_with_order(writer)
        assert len(writer.software(AGENT, tenant_id)) == 1  # applied to the views, replayed
        assert len(reader.software(AGENT, tenant_id)) == 1
        _pause(replica)
        buy(writer, tenant_id)
        writer.catch_up()
        # The reader wrote nothing, so nothing is its own to wait for: the replica's state.
        started = time.monotonic()
        assert [i.order_id for i in reader.software(AGENT, tenant_id)] == [first]
        assert time.monotonic() - started < 0.4


def test_a_follower_mode_ledger_waits_for_the_follower_and_then_the_replica(
    servers: tuple[PrivatePostgres, PrivatePostgres],
) -> None:
    primary, replica = servers
    stop = threading.Event()
    with (
        _open(primary, None, views="follower") as follower,
        _open(primary, replica, views="follower", views_timeout=5) as led,
    ):
        thread = threading.Thread(
            target=lambda: follower.follow(stop, poll_interval=0.05), daemon=True
        )
        thread.start()
        try:
            for _ in range(5):
                tenant_id, order_id = tenant_with_order(led)
                assert [i.order_id for i in led.software(AGENT, tenant_id)] == [order_id]
        finally:
            stop.set()
            thread.join(10)
    # No follower now: the views (on the primary, so on the replica too) stay behind.
    with _open(primary, replica, views="follower", views_timeout=0.3) as late:
        add_tenant(late)
        with pytest.raises(ViewsBehind):
            late.customers(AGENT)


def test_replica_urls_are_checked_before_anything_is_written(
    servers: tuple[PrivatePostgres, PrivatePostgres], tmp_path: Path
) -> None:
    primary, replica = servers
    sqlite_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    cases = [
        (sqlite_url, replica.url, "need a postgresql:// store"),
        (primary.url, "sqlite:///x.db", "must be a postgresql:// URL"),
        (primary.url, replica.url + "?schema=elsewhere", "names schema elsewhere"),
        (primary.url, "postgresql://127.0.0.1:99999/db", "port"),
        (primary.url, 42, "must be a str"),
    ]
    for url, replica_url, problem in cases:
        with pytest.raises(InvalidInput) as refused:
            Ledger.open(url, secret_key=SECRET, logger=QUIET, replica_url=replica_url)  # type: ignore[arg-type]
        assert refused.value.field == "replica_url"
        assert problem in refused.value.problem
    assert not (tmp_path / "ledger.db").exists() or (tmp_path / "ledger.db").stat().st_size == 0
    with _open(primary, None) as led:
        assert footprint(led)[0] == 0, "no event was written by a refused open"
