"""R18: rebuild, state as of an instant, exports and a tamper-evident history."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg
import pytest

from ledger import Ledger, Money, ProductKind, Role
from ledger.audit import AuditDigest
from ledger.errors import InvalidInput
from tests.conftest import POSTGRES_URL
from tests.support import ManualClock, customer, partner, product

GLOBAL_ADMIN = partner("gail", Role.GLOBAL_ADMIN)


def busy_history(led: Ledger, clock: ManualClock) -> tuple[UUID, UUID, str]:
    """A purchase, a key view, a download and a cancellation; returns ids and the key."""
    agent = partner()
    tenant = customer()
    led.add_customer(agent, tenant)
    keep = led.purchase(agent, tenant.tenant_id, product(), 1, Money("100.00", "EUR"))
    cancelled = led.purchase(
        agent, tenant.tenant_id, product(ProductKind.SUBSCRIPTION, 30), 3, Money("10.00", "EUR")
    )
    key = led.view_key(agent, keep)
    led.download(agent, keep, "2024", "en-US", 64)
    clock.advance(timedelta(days=2))
    led.cancel(agent, cancelled)
    return tenant.tenant_id, cancelled, key


def test_r18a_rebuilt_views_equal_the_live_views(led: Ledger, clock: ManualClock) -> None:
    busy_history(led, clock)
    report = led.audit.rebuild()
    assert report.matches, report.differences
    assert report.rows == {
        "ledger_software": 2,
        "ledger_activity": 2,
        "ledger_credits": 1,
        "ledger_refunds": 0,
        "ledger_customers": 1,
        # A registration, 2 purchases, 2 access records, a cancellation and its credit
        # and revocation; the owners of the tenant and the two orders.
        "ledger_feed": 8,
        "ledger_feed_owners": 3,
        "ledger_webhooks": 0,
    }


def test_r18b_state_as_of_a_past_instant(led: Ledger, clock: ManualClock) -> None:
    before_cancel = clock.now + timedelta(days=1)
    tenant_id, cancelled, _ = busy_history(led, clock)
    then = led.audit.as_of(before_cancel)
    assert {item.order_id: item.status for item in then.software(tenant_id)}[cancelled] == "active"
    assert then.monthly_credits("P1", "2026-11").lines == ()
    now = led.audit.as_of(clock.now)
    assert {item.order_id: item.status for item in now.software(tenant_id)}[cancelled] == (
        "cancelled"
    )
    assert len(now.monthly_credits("P1", "2026-11").lines) == 1
    assert len(now.activity_log("P1", date(2026, 11, 1), date(2026, 11, 30))) == 2
    with pytest.raises(InvalidInput):
        led.audit.as_of(before_cancel.replace(tzinfo=None))
    with pytest.raises(InvalidInput) as raised:
        now.activity_log("P1", date(2026, 11, 30), date(2026, 11, 1))
    assert raised.value.field == "end"
    with pytest.raises(InvalidInput) as raised:
        now.monthly_credits("P1", "2026-13")
    assert raised.value.field == "month"


def test_r18c_exports_are_complete_and_hold_no_key(led: Ledger, clock: ManualClock) -> None:
    _, _, key = busy_history(led, clock)
    jsonl = io.StringIO()
    count = led.audit.export_events(jsonl, "jsonl")
    lines = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    assert lines[0]["format"] == "ledger-events"
    assert lines[-1]["end"] is True
    assert lines[-1]["count"] == count
    lines = lines[1:-1]
    assert count == len(lines) == 10
    assert [line["position"] for line in lines] == sorted(line["position"] for line in lines)
    assert {line["topic"] for line in lines} >= {
        "ledger:Order.Purchased.v1",
        "ledger:Licence.KeyViewed.v1",
        "ledger:Order.Cancelled.v1",
        "ledger:Licence.KeysRevoked.v1",
        "ledger:Order.CreditIssued.v1",
    }
    table = io.StringIO()
    assert led.audit.export_events(table, "csv") == count
    rows = list(csv.DictReader(io.StringIO(table.getvalue())))
    assert len(rows) == count + 1
    assert rows[-1]["position"] == "end"
    assert key not in jsonl.getvalue()
    assert key not in table.getvalue()
    activity = io.StringIO()
    assert led.audit.export_activity(activity, date(2026, 11, 1), date(2026, 11, 30), "csv") == 2
    actions = [row["action"] for row in csv.DictReader(io.StringIO(activity.getvalue()))]
    assert actions == ["key_viewed", "downloaded"]
    with pytest.raises(InvalidInput):
        led.audit.export_events(io.StringIO(), "xml")  # type: ignore[arg-type]


def test_r18c_export_to_a_file(led: Ledger, clock: ManualClock, tmp_path: Path) -> None:
    busy_history(led, clock)
    target = tmp_path / "events.jsonl"
    assert led.audit.export_events(target) == len(target.read_text().splitlines()) - 2


def test_r18d_untouched_history_verifies(led: Ledger, clock: ManualClock) -> None:
    empty = led.audit.digest()
    assert empty.position == 0
    busy_history(led, clock)
    digest = led.audit.digest()
    assert digest.position > 0
    assert AuditDigest.parse(str(digest)) == digest
    result = led.audit.verify(str(digest))
    assert result.ok
    assert result.checked == 10
    assert result.head == digest
    later = led.audit.verify(empty)
    assert later.ok
    with pytest.raises(InvalidInput):
        led.audit.verify("not-a-digest")


def test_r18d_digest_from_a_longer_history_reveals_truncation(
    led: Ledger, clock: ManualClock
) -> None:
    busy_history(led, clock)
    digest = led.audit.digest()
    forged = AuditDigest(digest.position + 5, digest.hash)
    result = led.audit.verify(forged)
    assert not result.ok
    assert result.broken_at == forged.position


# -- tampering with the raw store: only files and servers can be edited behind our back --------


def _schema(url: str) -> str:
    return parse_qs(urlsplit(url).query)["schema"][0]


def _tamper(url: str, statement_sqlite: str, statement_postgres: str) -> None:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            conn.execute(statement_sqlite)
    else:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{_schema(url)}"')
            conn.execute(statement_postgres)  # type: ignore[arg-type]


def _delete_event(url: str, position: int) -> None:
    _tamper(
        url,
        f"DELETE FROM stored_events WHERE rowid = {position}",
        f"DELETE FROM ledger_events WHERE notification_id = {position}",
    )


def _position_of(led: Ledger, topic: str) -> int:
    out = io.StringIO()
    led.audit.export_events(out)
    return next(
        json.loads(line)["position"]
        for line in out.getvalue().splitlines()
        if json.loads(line).get("topic") == topic
    )


def test_r18d_an_edited_event_is_found(durable_url: str, clock: ManualClock) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        busy_history(led, clock)
        digest = led.audit.digest()
        position = _position_of(led, "ledger:Order.CreditIssued.v1")
    _tamper(
        durable_url,
        f"UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), '\"amount\"',"
        f" '\"amount\" ') AS BLOB) WHERE rowid = {position}",
        "UPDATE ledger_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        f" '\"amount\"', '\"amount\" '), 'UTF8') WHERE notification_id = {position}",
    )
    with Ledger.open(durable_url, clock=clock) as led:
        result = led.audit.verify(digest)
    assert not result.ok
    assert result.broken_at == position
    assert "edited" in (result.problem or "")


def test_r18d_a_deleted_event_is_found(durable_url: str, clock: ManualClock) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        busy_history(led, clock)
        digest = led.audit.digest()
    _delete_event(durable_url, digest.position)
    with Ledger.open(durable_url, clock=clock) as led:
        without_digest = led.audit.verify()
        with_digest = led.audit.verify(digest)
    assert not without_digest.ok
    assert without_digest.broken_at == digest.position
    assert not with_digest.ok


def test_r18d_history_rewritten_with_its_chain_needs_the_outside_digest(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        busy_history(led, clock)
        digest = led.audit.digest()
    # Drop the last event and its chain link together: only the digest kept elsewhere notices.
    _delete_event(durable_url, digest.position)
    _tamper(
        durable_url,
        f"DELETE FROM ledger_audit_chain WHERE position = {digest.position}",
        f"DELETE FROM ledger_audit_chain WHERE position = {digest.position}",
    )
    with Ledger.open(durable_url, clock=clock) as led:
        # R18 v2: the keyed tree row of the dropped event is still there, so even
        # without the digest verify finds the gap.
        alone = led.audit.verify()
        result = led.audit.verify(digest)
    assert not alone.ok
    assert alone.broken_at == digest.position
    assert not result.ok
    assert result.broken_at == digest.position
