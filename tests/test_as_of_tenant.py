"""`led.audit.as_of(instant, tenant_id=)`: one customer's views from its own streams.

They must equal what the whole-log replay shows for that customer at every
instant, and refuse an event the whole replay would refuse.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, Money, ProductKind, Role
from ledger.errors import InvalidInput, ProjectionError
from tests.support import ManualClock, customer, partner, product
from tests.test_r18_audit import _delete_event, _position_of, _tamper

AGENT = partner()
NOVEMBER = (date(2026, 10, 1), date(2026, 12, 31))


def _history(led: Ledger, clock: ManualClock, steps: list[tuple[int, int]]) -> list[UUID]:
    """Three customers; each step buys for, views a key of, or cancels for one of them."""
    tenants = [customer() for _ in range(3)]
    for tenant in tenants:
        led.add_customer(AGENT, tenant)
    orders: dict[int, list[UUID]] = {0: [], 1: [], 2: []}
    cancelled: set[UUID] = set()
    for who, action in steps:
        clock.advance(timedelta(hours=5))
        live = [order for order in orders[who] if order not in cancelled]
        if action == 0 or not live:
            kind = ProductKind.SUBSCRIPTION if len(orders[who]) % 2 else ProductKind.PERPETUAL
            orders[who].append(
                led.purchase(AGENT, tenants[who].tenant_id, product(kind), 1, Money("9.99", "EUR"))
            )
        elif action == 1:
            led.view_key(AGENT, live[-1])
        elif action == 2:
            led.download(AGENT, live[-1], "2024", "en-US", 64)
        elif led.cancellation_status(AGENT, live[0]).cancellable:
            led.cancel(AGENT, live[0])
            cancelled.add(live[0])
    return [tenant.tenant_id for tenant in tenants]


def _same_for_tenant(led: Ledger, instant: datetime, tenant_id: UUID) -> None:
    with (
        led.audit.as_of(instant) as everyone,
        led.audit.as_of(instant, tenant_id=tenant_id) as one,
    ):
        assert one.tenant_id == tenant_id
        assert one.software(tenant_id) == everyone.software(tenant_id)
        assert one.activity_log("P1", *NOVEMBER) == everyone.activity_log(
            "P1", *NOVEMBER, tenant_id=tenant_id
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=14),
    cut=st.integers(0, 15),
)
def test_one_tenant_equals_the_whole_replay_at_any_instant(
    steps: list[tuple[int, int]], cut: int
) -> None:
    clock = ManualClock()
    start = clock.now
    with Ledger.open("memory://", clock=clock) as led:
        tenants = _history(led, clock, steps)
        instant = start + timedelta(hours=5 * cut, minutes=1)
        for tenant_id in tenants:
            _same_for_tenant(led, instant, tenant_id)


def test_one_tenant_on_every_store(led: Ledger, clock: ManualClock) -> None:
    start = clock.now
    steps = [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (0, 0), (2, 0), (0, 3), (1, 3)]
    tenants = _history(led, clock, steps)
    for hours in (0, 12, 30, 60):
        for tenant_id in tenants:
            _same_for_tenant(led, start + timedelta(hours=hours), tenant_id)
    with led.audit.as_of(clock.now, tenant_id=tenants[0]) as one:
        assert len(one.software(tenants[0])) == 2
        assert any(item.status == "cancelled" for item in one.software(tenants[0]))


def test_a_tenant_newer_than_the_views_is_read_from_the_log(clock: ManualClock) -> None:
    # Followed views that nobody follows stay at 0: every event is in the walked tail.
    with Ledger.open("memory://", clock=clock, views="follower") as led:
        tenants = _history(led, clock, [(0, 0), (0, 1), (1, 0)])
        with led.audit.as_of(clock.now, tenant_id=tenants[0]) as one:
            assert [item.status for item in one.software(tenants[0])] == ["active"]
            assert [entry.action for entry in one.activity_log("P1", *NOVEMBER)] == ["key_viewed"]


def test_one_tenants_views_answer_for_that_tenant_alone(led: Ledger, clock: ManualClock) -> None:
    tenants = _history(led, clock, [(0, 0), (1, 0)])
    with led.audit.as_of(clock.now, tenant_id=tenants[0]) as one:
        with pytest.raises(InvalidInput) as raised:
            one.software(tenants[1])
        assert raised.value.field == "tenant_id"
        with pytest.raises(InvalidInput) as raised:
            one.activity_log("P1", *NOVEMBER, tenant_id=tenants[1])
        assert raised.value.field == "tenant_id"
        for partner_wide in (lambda: one.monthly_credits("P1", "2026-11"), one.refunds):
            with pytest.raises(InvalidInput) as raised:
                partner_wide()
            assert raised.value.field == "tenant_id"
    with pytest.raises(InvalidInput) as raised:
        led.audit.as_of(clock.now, tenant_id="not-a-uuid")  # type: ignore[arg-type]
    assert raised.value.field == "tenant_id"
    # The refused call wrote nothing; the one read is on the trail with its tenant.
    reads = [entry for entry in led.audit.trail() if entry.action == "audit.as_of"]
    assert [entry.detail.get("tenant_id") for entry in reads] == [str(tenants[0])]


def _positions(led: Ledger, tenant_id: UUID, action: str) -> list[int]:
    return [
        entry.position
        for entry in led.activity_log(partner("al", Role.AUDITOR), *NOVEMBER, tenant_id=tenant_id)
        if entry.action == action
    ]


def test_an_edited_event_of_the_tenant_is_refused(durable_url: str, clock: ManualClock) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        tenants = _history(led, clock, [(0, 0), (0, 1), (0, 1), (1, 0)])
        position = _positions(led, tenants[0], "key_viewed")[0]
    _tamper(
        durable_url,
        f"UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), '\"user\"',"
        f" '\"user\" ') AS BLOB) WHERE rowid = {position}",
        "UPDATE ledger_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        f" '\"user\"', '\"user\" '), 'UTF8') WHERE notification_id = {position}",
    )
    with Ledger.open(durable_url, clock=clock) as led:
        with pytest.raises(ProjectionError) as raised:
            led.audit.as_of(clock.now, tenant_id=tenants[0])
        assert raised.value.position == position
        # Another customer's streams do not hold that event.
        with led.audit.as_of(clock.now, tenant_id=tenants[1]) as other:
            assert len(other.software(tenants[1])) == 1


def test_an_event_cut_from_the_tenants_stream_is_refused(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        tenants = _history(led, clock, [(0, 0), (0, 1), (0, 1), (0, 1)])
        position = _positions(led, tenants[0], "key_viewed")[1]
    _delete_event(durable_url, position)
    with Ledger.open(durable_url, clock=clock) as led, pytest.raises(ProjectionError) as raised:
        led.audit.as_of(clock.now, tenant_id=tenants[0])
    assert "missing" in raised.value.problem


def test_a_version_cut_from_an_order_is_refused(durable_url: str, clock: ManualClock) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        tenants = _history(led, clock, [(0, 0), (0, 3)])
        position = _position_of(led, "ledger:Order.Cancelled.v1")
    _delete_event(durable_url, position)
    with Ledger.open(durable_url, clock=clock) as led, pytest.raises(ProjectionError) as raised:
        led.audit.as_of(clock.now, tenant_id=tenants[0])
    assert "jumps from version 1 to 3" in raised.value.problem


def test_gaps_in_postgres_positions_are_linked_across(
    postgres_url: str, clock: ManualClock
) -> None:
    # A rolled-back insert leaves a hole in the sequence: the link before an event is then
    # the one recorded at the last position before the hole.
    with Ledger.open(postgres_url, clock=clock) as led:
        tenant = customer()
        led.add_customer(AGENT, tenant)
        order = led.purchase(AGENT, tenant.tenant_id, product(), 1, Money("9.99", "EUR"))
        issued = led.audit.digest().position
        _tamper(
            postgres_url,
            "",
            "SELECT nextval(pg_get_serial_sequence('ledger_events', 'notification_id'))"
            " FROM generate_series(1, 3)",
        )
        clock.advance(timedelta(hours=1))
        led.view_key(AGENT, order)
        assert _positions(led, tenant.tenant_id, "key_viewed") == [issued + 4]
        _same_for_tenant(led, clock.now, tenant.tenant_id)
        with led.audit.as_of(clock.now, tenant_id=tenant.tenant_id) as one:
            assert [entry.action for entry in one.activity_log("P1", *NOVEMBER)] == ["key_viewed"]
