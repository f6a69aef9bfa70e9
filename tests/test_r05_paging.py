"""R5: the activity log narrowed by tenant, order and user, paged with limit/after, and read
over exact datetime ranges; exports of the activity log, the credits and the software list."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ledger import ActivityEntry, Ledger, Role
from ledger.errors import InvalidInput
from tests.support import AGENT, START, ManualClock, customer_admin, partner, tenant_with_order

AUDITOR = partner("gail", Role.GLOBAL_ADMIN)
WHOLE = (date(2026, 1, 1), date(2027, 12, 31))


def busy(led: Ledger, clock: ManualClock) -> dict[str, object]:
    """Three tenants with an order each, 12 accesses an hour apart (two at one instant)."""
    tid_a, order_a = tenant_with_order(led)
    _, order_a2 = tenant_with_order(led)
    tid_b, order_b = tenant_with_order(led)
    carol = customer_admin(tid_a)
    for step in range(10):
        clock.set(START + timedelta(hours=step + 1))
        order = (order_a, order_a2, order_b)[step % 3]
        actor = carol if step % 4 == 0 and order == order_a else AGENT
        led.view_key(actor, order)
    # Two entries at the same instant: paging must not lose or repeat either.
    led.view_key(AGENT, order_b)
    led.download(AGENT, order_b, "2024", "en-US", 64)
    return {"tenant_a": tid_a, "tenant_b": tid_b, "order_a": order_a, "order_b": order_b}


def test_r5_every_entry_carries_its_position(led: Ledger, clock: ManualClock) -> None:
    busy(led, clock)
    entries = led.activity_log(AUDITOR, *WHOLE)
    assert len(entries) == 12
    positions = [e.position for e in entries]
    assert all(p > 0 for p in positions)
    assert len(set(positions)) == 12
    assert [(e.at, e.position) for e in entries] == sorted((e.at, e.position) for e in entries)


@pytest.mark.parametrize("size", [1, 5, 12, 10000])
def test_r5_pages_join_up_to_the_whole_log(led: Ledger, clock: ManualClock, size: int) -> None:
    busy(led, clock)
    whole = led.activity_log(AUDITOR, *WHOLE)
    pages: list[list[ActivityEntry]] = []
    after = None
    while True:
        page = led.activity_log(AUDITOR, *WHOLE, limit=size, after=after)
        if not page:
            break
        assert len(page) <= size
        pages.append(page)
        after = page[-1].position
    joined = [entry for page in pages for entry in page]
    assert joined == whole
    assert [e.position for e in joined] == [e.position for e in whole]


def test_r5_filters_narrow_the_log(led: Ledger, clock: ManualClock) -> None:
    ids = busy(led, clock)
    whole = led.activity_log(AUDITOR, *WHOLE)
    by_tenant = led.activity_log(AUDITOR, *WHOLE, tenant_id=ids["tenant_b"])  # type: ignore[arg-type]
    assert by_tenant == [e for e in whole if e.tenant_id == ids["tenant_b"]]
    assert by_tenant
    by_order = led.activity_log(AUDITOR, *WHOLE, order_id=ids["order_a"])  # type: ignore[arg-type]
    assert by_order == [e for e in whole if e.order_id == ids["order_a"]]
    by_user = led.activity_log(AUDITOR, *WHOLE, user="carol")
    assert by_user == [e for e in whole if e.user == "carol"]
    assert by_user
    both = led.activity_log(AUDITOR, *WHOLE, order_id=ids["order_a"], user="ann", limit=1)  # type: ignore[arg-type]
    assert both == [e for e in whole if e.order_id == ids["order_a"] and e.user == "ann"][:1]
    # Another partner's filter values find nothing of ours.
    assert led.activity_log(partner("o", Role.GLOBAL_ADMIN, partner_id="P2"), *WHOLE) == []


def test_r5_aware_datetimes_are_the_exact_half_open_range(led: Ledger, clock: ManualClock) -> None:
    busy(led, clock)
    start = START + timedelta(hours=2)
    end = START + timedelta(hours=5)
    entries = led.activity_log(AUDITOR, start, end)
    assert [e.at for e in entries] == [START + timedelta(hours=h) for h in (2, 3, 4)]
    # The same instants in another offset select the same entries.
    plus_two = timezone(timedelta(hours=2))
    assert (
        led.activity_log(AUDITOR, start.astimezone(plus_two), end.astimezone(plus_two)) == entries
    )
    assert led.activity_log(AUDITOR, start, start) == []
    # A date and a datetime mix: the date is a whole UTC day.
    assert len(led.activity_log(AUDITOR, START.date(), end)) == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": datetime(2026, 11, 1), "end": date(2026, 11, 2)}, "start"),
        ({"start": date(2026, 11, 1), "end": datetime(2026, 11, 2)}, "end"),
        ({"end": datetime(2026, 11, 1, tzinfo=UTC)}, "end"),
        ({"limit": 0}, "limit"),
        ({"limit": 10001}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"after": -1}, "after"),
        ({"after": 987654}, "after"),
        ({"tenant_id": "not-a-uuid"}, "tenant_id"),
        ({"order_id": 7}, "order_id"),
        ({"user": ""}, "user"),
        ({"user": "x\x00"}, "user"),
    ],
)
def test_r5_bad_paging_and_filters_are_invalid_input(
    led: Ledger, clock: ManualClock, kwargs: dict[str, object], field: str
) -> None:
    busy(led, clock)
    arguments: dict[str, object] = {
        "start": datetime(2026, 11, 2, tzinfo=UTC),
        "end": date(2026, 11, 30),
        **kwargs,
    }
    with pytest.raises(InvalidInput) as raised:
        led.activity_log(AUDITOR, **arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_r5_after_must_be_an_entry_of_the_readers_partner(led: Ledger, clock: ManualClock) -> None:
    ids = busy(led, clock)
    other = partner("otto", partner_id="P2")
    _, their_order = tenant_with_order(led, actor=other)
    led.view_key(other, their_order)
    [theirs] = led.activity_log(partner("o", Role.GLOBAL_ADMIN, partner_id="P2"), *WHOLE)
    with pytest.raises(InvalidInput) as raised:
        led.activity_log(AUDITOR, *WHOLE, after=theirs.position)
    assert raised.value.field == "after"
    assert ids


def test_r5_exports_of_activity_credits_and_software(led: Ledger, clock: ManualClock) -> None:
    ids = busy(led, clock)
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, ids["order_b"])  # type: ignore[arg-type]
    out = io.StringIO()
    assert led.audit.export_activity(out, *WHOLE, "csv", tenant_id=ids["tenant_b"]) == 5
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["tenant_id"] for row in rows} == {str(ids["tenant_b"])}
    assert all(int(row["position"]) > 0 for row in rows)
    credits = io.StringIO()
    assert led.audit.export_credits(credits, "2026-11") == 1
    [credit] = [json.loads(line) for line in credits.getvalue().splitlines()]
    assert (credit["amount"], credit["currency"], credit["order_id"]) == (
        "100.00",
        "EUR",
        str(ids["order_b"]),
    )
    software = io.StringIO()
    assert led.audit.export_software(software, "csv") == 3
    statuses = {
        row["order_id"]: row["status"] for row in csv.DictReader(io.StringIO(software.getvalue()))
    }
    assert statuses[str(ids["order_b"])] == "cancelled"
    only_a = io.StringIO()
    assert led.audit.export_software(only_a, tenant_id=ids["tenant_a"]) == 1
    with pytest.raises(InvalidInput):
        led.audit.export_credits(io.StringIO(), "2026-13")
