"""Inline queries check the views against the log's head in one read (issue 12).

A query whose views are up to date pays one round trip for "is anything new?" and
its rows together. These tests hold that cheap path to what the full catch-up
gave: a write by anyone on the store (another `Ledger`, another process) is in
the next query's answer, and views stopped at a damaged event keep raising
`ProjectionError` on every query, not only on the first.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg
import pytest

from ledger import Ledger, Role
from ledger.errors import ProjectionError
from ledger.projections import updater
from tests.conftest import POSTGRES_URL
from tests.support import AGENT, ManualClock, eur, partner, product, tenant_with_order
from tests.test_r18_sealed import RawStore

SECRET = b"h" * 32
READER = partner("gail", Role.GLOBAL_ADMIN)
DAYS = (date(2000, 1, 1), date(2100, 1, 1))


def test_a_second_ledger_sees_the_first_ones_writes_on_its_next_query(
    store_url: str, clock: ManualClock
) -> None:
    """Each of the reader's queries comes straight after a write it did not make.

    On memory:// a second `Ledger` cannot share the store, so one object writes
    and reads there (its own writes, through the same cheap check).
    """
    with Ledger.open(store_url, clock=clock, secret_key=SECRET) as writer:
        second = store_url != "memory://"
        with Ledger.open(store_url, clock=clock, secret_key=SECRET) if second else writer as reader:
            assert reader.activity_log(READER, *DAYS) == []  # the reader's views are current
            tenant_id, order_id = tenant_with_order(writer)
            [item] = reader.software(READER, tenant_id)
            assert (item.order_id, item.status) == (order_id, "active")

            writer.view_key(AGENT, order_id)
            [entry] = reader.activity_log(READER, *DAYS)
            assert (entry.order_id, entry.action) == (order_id, "key_viewed")

            clock.advance(timedelta(days=1))
            cancellation = writer.cancel(AGENT, order_id)
            statement = reader.monthly_credits(READER, cancellation.invoice_month)
            assert [line.order_id for line in statement.lines] == [order_id]
            assert statement.totals == {"EUR": cancellation.credit}
            [item] = reader.software(READER, tenant_id)
            assert (item.status, item.key_available) == ("cancelled", False)
            assert reader.views_status().lag_events == 0


def test_the_next_query_applies_what_another_ledger_wrote_after_a_gap_in_the_ids(
    postgres_url: str, clock: ManualClock
) -> None:
    """PostgreSQL ids have gaps (rolled-back inserts use up the sequence)."""
    with (
        Ledger.open(postgres_url, clock=clock, secret_key=SECRET) as writer,
        Ledger.open(postgres_url, clock=clock, secret_key=SECRET) as reader,
    ):
        tenant_id, first = tenant_with_order(writer)
        assert len(reader.software(READER, tenant_id)) == 1
        schema = postgres_url.split("schema=")[1]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{schema}\".ledger_events',"
                f" 'notification_id'), (SELECT MAX(notification_id) + 40"
                f' FROM "{schema}".ledger_events))'
            )
        writer.view_key(AGENT, first)
        second = writer.purchase(AGENT, tenant_id, product(), 1, eur("100.00"))
        assert [i.order_id for i in reader.software(READER, tenant_id)] == [first, second]
        assert [e.order_id for e in reader.activity_log(READER, *DAYS)] == [first]
        status = reader.views_status()
        assert status.position == status.head
        assert status.lag_events == 0


def test_views_stopped_at_a_damaged_event_raise_on_every_query(
    durable_url: str, clock: ManualClock
) -> None:
    """A forged row lands in the log while a `Ledger` is open (no reopen in between)."""
    with Ledger.open(durable_url, clock=clock, secret_key=SECRET) as led:
        tenant_id, order_id = tenant_with_order(led)
        led.view_key(AGENT, order_id)
        assert len(led.activity_log(READER, *DAYS)) == 1
        raw = RawStore(durable_url)
        head = raw.head()
        originator_id, version, topic, state = raw.row(head)
        body = json.loads(state[: state.index(b"\x1eseal:v1:")])
        body.update(originator_version=version + 5)
        forged = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        raw.insert(head + 1, originator_id, version + 5, topic, forged)

        for _ in range(2):  # the second time too: the stop is not forgotten
            for query in (
                lambda: led.activity_log(READER, *DAYS),
                lambda: led.software(READER, tenant_id),
                lambda: led.monthly_credits(READER, "2026-11"),
                lambda: led.customers(READER),
            ):
                with pytest.raises(ProjectionError) as raised:
                    query()
                assert raised.value.position == head + 1
        # Commands still work, and the queries still report the same stop.
        tenant_with_order(led)
        with pytest.raises(ProjectionError) as raised:
            led.software(READER, tenant_id)
        assert raised.value.position == head + 1
        assert led.views_status().stopped_at == head + 1


def test_a_large_catch_up_refreshes_the_postgresql_statistics(
    postgres_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables caught up from a backlog are planned by their real size, not as empty ones."""
    monkeypatch.setattr(updater, "ANALYZE_AFTER", 5)
    with Ledger.open(postgres_url, clock=clock, secret_key=SECRET, views="follower") as writer:
        tenant_id, order_id = tenant_with_order(writer)
        for _ in range(5):
            writer.view_key(AGENT, order_id)
    schema = postgres_url.split("schema=")[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        # reltuples is -1 until a table is first analyzed (or vacuumed).
        table = f'"{schema}".ledger_activity'
        analyzed = f"SELECT reltuples >= 0 FROM pg_class WHERE oid = '{table}'::regclass"
        assert conn.execute(analyzed).fetchone() == (False,)
        with Ledger.open(postgres_url, clock=clock, secret_key=SECRET) as reader:  # catches up
            assert len(reader.software(READER, tenant_id)) == 1
        assert conn.execute(analyzed).fetchone() == (True,)
