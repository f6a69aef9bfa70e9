"""§6: views kept by a follower process, views_status, rebuild_views, ViewsBehind, and the
views stopping at a damaged event (R15); a property: live views == rebuild_views() ==
audit.as_of(now), for any command sequence, on every store."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from ledger import Ledger, Role
from ledger.errors import InvalidInput, LedgerError, ProjectionError, ViewsBehind
from ledger.projections.sql import Params, Row
from ledger.testing import ManualClock, scratch_store, strategies
from ledger.testing.driver import Driver
from ledger.testing.stores import SILENT
from tests.conftest import IN_CI, POSTGRES_URL, require_postgres
from tests.support import AGENT, partner, tenant_with_order

READER = partner("gail", Role.GLOBAL_ADMIN)
WHOLE = (date(2020, 1, 1), date(2030, 1, 1))
#: Each view table and the columns that order it.
TABLES = {
    "ledger_software": "order_id",
    "ledger_activity": "position",
    "ledger_credits": "position",
    "ledger_refunds": "refund_id",
    "ledger_customers": "registration",
    "ledger_audit_chain": "position",
}


def dump(query: Callable[[str, Params], list[Row]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in key order: views are equal when their dumps are."""
    return {
        table: [
            tuple(int(v) if isinstance(v, bool) else v for v in (row[c] for c in row.keys()))  # noqa: SIM118
            for row in query(f"SELECT * FROM {{{table}}} ORDER BY {key}", ())
        ]
        for table, key in TABLES.items()
    }


def _store_param(name: str) -> str:
    if name == "postgres":
        require_postgres()
        return POSTGRES_URL
    return name


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgres"])
def test_s6_live_views_equal_rebuilt_views_equal_as_of_now(store: str) -> None:
    base = _store_param(store)
    examples = 8 if store == "postgres" else 20

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=IN_CI,
        database=None if IN_CI else settings.default.database,
    )
    @given(strategies.command_sequences(max_commands=20))
    def check(commands: list[Any]) -> None:
        clock = ManualClock()
        with (
            scratch_store(base) as url,
            Ledger.open(url, clock=clock, secret_key=os.urandom(32), logger=SILENT) as led,
        ):
            driver = Driver(led, clock)
            for command in commands:
                with contextlib.suppress(LedgerError):
                    driver.run(command)
            led.catch_up()
            live = dump(led._views.query)
            status = led.rebuild_views()
            assert status.position == status.head
            assert dump(led._views.query) == live
            with led.audit.as_of(clock.now + timedelta(seconds=1)) as then:
                assert dump(then._views.query) == live
            assert led.audit.rebuild().matches
            assert led.audit.verify(led.audit.digest()).ok

    check()


def test_s6_rebuild_views_replaces_damaged_views(durable_url: str, clock: ManualClock) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        tid, order = tenant_with_order(led)
        led.view_key(AGENT, order)
        before = led.software(AGENT, tid)
        led._views.query("SELECT 1", ())
        with led._views.datastore.transaction(commit=True) as cursor:
            cursor.execute(led._views.dialect.render("DELETE FROM {ledger_software}"), ())
        assert led.software(AGENT, tid) == []
        assert not led.audit.rebuild().matches
        calls: list[tuple[int, int]] = []
        status = led.rebuild_views(progress=lambda done, total: calls.append((done, total)))
        assert status.lag_events == 0
        assert calls
        assert calls[-1][0] == calls[-1][1]
        assert led.software(AGENT, tid) == before
        assert led.audit.rebuild().matches


def test_s6_views_status_and_views_behind_without_a_follower(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock, views="follower", views_timeout=0.2) as led:
        assert led.views_mode == "follower"
        tid, order = tenant_with_order(led)
        clock.advance(timedelta(minutes=2))
        status = led.views_status()
        assert (status.position, status.lag_events) == (0, status.head)
        assert status.head == 3  # the customer, the order and its licence
        assert status.lag_seconds == 120.0
        with pytest.raises(ViewsBehind) as raised:
            led.software(AGENT, tid)
        assert raised.value.position == 3
        # A follower catches them up; then the same query answers.
        with Ledger.open(durable_url, clock=clock, views="follower") as follower:
            stop = threading.Event()
            worker = threading.Thread(target=follower.follow, args=(stop,))
            worker.start()
            try:
                assert [item.order_id for item in led.software(AGENT, tid)] == [order]
                led.view_key(AGENT, order)
                assert len(led.activity_log(READER, *WHOLE)) == 1  # read-your-writes
            finally:
                stop.set()
                worker.join()
        assert led.views_status().lag_events == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"views": "lazy"}, "views"), ({"views_timeout": -1}, "views_timeout")],
)
def test_s6_bad_view_settings_are_invalid_input(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Ledger.open(**kwargs)
    assert raised.value.field == field


def test_r15_a_damaged_event_stops_the_views_not_the_ledger(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite:///{tmp_path / 'damaged.db'}"
    # Written without applying (no follower yet); then the last row is damaged on disk.
    with Ledger.open(url, clock=clock, views="follower") as led:
        tid, order = tenant_with_order(led)
        led.view_key(AGENT, order)
        head = led.views_status().head
    with sqlite3.connect(tmp_path / "damaged.db") as conn:
        conn.execute("UPDATE stored_events SET state = X'00FF' WHERE rowid = ?", (head,))
    with Ledger.open(url, clock=clock) as led:  # opens
        _, other = tenant_with_order(led)  # commands work
        led.view_key(AGENT, other)
        for query in (
            lambda: led.software(AGENT, tid),
            lambda: led.activity_log(READER, *WHOLE),
            lambda: led.monthly_credits(READER, "2026-11"),
            lambda: led.refunds(AGENT),
            led.audit.digest,
        ):
            with pytest.raises(ProjectionError) as raised:
                query()
            assert raised.value.position == head
            assert str(head) in str(raised.value)
        status = led.views_status()
        assert (status.position, status.stopped_at) == (head - 1, head)
        assert led.audit.verify().broken_at == head
        rebuilt = led.rebuild_views()
        assert rebuilt.stopped_at == head
    with Ledger.open(url, clock=clock, views="follower", views_timeout=0.1) as reader:
        reader.view_key(AGENT, order)
        with pytest.raises(ProjectionError):
            reader.activity_log(READER, *WHOLE)


def test_s6_two_followers_in_threads_apply_each_event_once(
    durable_url: str, clock: ManualClock
) -> None:
    followers = [Ledger.open(durable_url, clock=clock, views="follower") for _ in range(2)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=f.follow, args=(stop,), kwargs={"poll_interval": 0.005})
        for f in followers
    ]
    for thread in threads:
        thread.start()
    try:
        with Ledger.open(durable_url, clock=clock, views="follower") as writer:
            _, order = tenant_with_order(writer)
            for _ in range(60):
                writer.view_key(AGENT, order)
            assert len(writer.activity_log(READER, *WHOLE)) == 60
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for f in followers:
            f.close()
    with Ledger.open(durable_url, clock=clock) as led:
        assert led.audit.rebuild().matches
        assert led.audit.verify().ok
        assert len(led.activity_log(READER, *WHOLE)) == 60
