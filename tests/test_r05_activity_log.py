"""R5: the activity log of key views, downloads and link copies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ledger import ActivityEntry, Actor, Ledger, Role
from ledger.errors import AccessDenied, InvalidInput
from tests.support import (
    AGENT,
    START,
    ManualClock,
    customer_admin,
    partner,
    product,
    support,
    tenant_with_order,
)

AUDITOR = partner("gina", Role.GLOBAL_ADMIN)
READER_ROLES = [
    Role.GLOBAL_ADMIN,
    Role.ACCOUNT_ADMIN,
    Role.REFERRAL_ADMIN,
    Role.MARKETING_CONTENT_ADMIN,
]
LONG_AGO = date(2000, 1, 1)
FAR_AHEAD = date(2100, 1, 1)


def _all(led: Ledger, actor: Actor = AUDITOR) -> list[ActivityEntry]:
    return led.activity_log(actor, start=LONG_AGO, end=FAR_AHEAD)


@pytest.mark.parametrize("role", READER_ROLES)
def test_r5_partner_reader_roles_may_read_the_log(led: Ledger, role: Role) -> None:
    _, order_id = tenant_with_order(led)
    led.view_key(AGENT, order_id)
    entries = led.activity_log(partner("rita", role), start=START.date(), end=START.date())
    assert [(e.user, e.action, e.order_id) for e in entries] == [("ann", "key_viewed", order_id)]


def test_r5_admin_agent_with_a_reader_role_may_read_the_log(led: Ledger) -> None:
    _, order_id = tenant_with_order(led)
    led.view_key(AGENT, order_id)
    both = partner("ann", Role.ADMIN_AGENT, Role.ACCOUNT_ADMIN)
    assert len(led.activity_log(both, start=START.date(), end=START.date())) == 1


@pytest.mark.parametrize("roles", [{Role.ADMIN_AGENT}, {Role.SALES_AGENT}, set()])
def test_r5_admin_agent_alone_and_other_partner_users_may_not_read_the_log(
    led: Ledger, roles: set[Role]
) -> None:
    _, order_id = tenant_with_order(led)
    led.view_key(AGENT, order_id)
    actor = Actor(user="al", roles=roles, partner_id="P1")
    with pytest.raises(AccessDenied):
        led.activity_log(actor, start=START.date(), end=START.date())


def test_r5_customer_users_and_support_may_not_read_the_log(led: Ledger) -> None:
    tid, order_id = tenant_with_order(led)
    led.view_key(customer_admin(tid), order_id)
    with pytest.raises(AccessDenied):
        led.activity_log(customer_admin(tid), start=START.date(), end=START.date())
    with pytest.raises(AccessDenied):
        led.activity_log(support(), start=START.date(), end=START.date())


def test_r5_date_range_is_utc_days_inclusive_at_both_ends(led: Ledger, clock: ManualClock) -> None:
    clock.set(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    _, order_id = tenant_with_order(led)
    moments = [
        datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before the range
        datetime(2026, 11, 1, 0, 0, tzinfo=UTC),  # first instant of start day
        datetime(2026, 11, 2, 12, 0, tzinfo=UTC),  # middle
        datetime(2026, 11, 3, 23, 59, 59, 999999, tzinfo=UTC),  # last instant of end day
        datetime(2026, 11, 4, 0, 0, tzinfo=UTC),  # after the range
    ]
    for moment in moments:
        clock.set(moment)
        led.view_key(AGENT, order_id)
    entries = led.activity_log(AUDITOR, start=date(2026, 11, 1), end=date(2026, 11, 3))
    assert [e.at for e in entries] == moments[1:4]

    single = led.activity_log(AUDITOR, start=date(2026, 11, 3), end=date(2026, 11, 3))
    assert [e.at for e in single] == [moments[3]]
    assert led.activity_log(AUDITOR, start=date(2026, 11, 5), end=date(2026, 11, 30)) == []
    assert led.activity_log(AUDITOR, start=date(2026, 10, 1), end=date(2026, 10, 30)) == []


def test_r5_days_are_utc_days_even_when_the_clock_reports_another_zone(
    led: Ledger, clock: ManualClock
) -> None:
    _, order_id = tenant_with_order(led)
    # 01:30 on 3 November in UTC+2 is still 2 November in UTC.
    clock.set(datetime(2026, 11, 3, 1, 30, tzinfo=timezone(timedelta(hours=2))))
    led.view_key(AGENT, order_id)
    # 20:00 on 2 November in UTC-5 is already 3 November in UTC.
    clock.set(datetime(2026, 11, 2, 20, 0, tzinfo=timezone(timedelta(hours=-5))))
    led.view_key(AGENT, order_id)
    nov2 = led.activity_log(AUDITOR, start=date(2026, 11, 2), end=date(2026, 11, 2))
    nov3 = led.activity_log(AUDITOR, start=date(2026, 11, 3), end=date(2026, 11, 3))
    assert [e.at for e in nov2] == [datetime(2026, 11, 2, 23, 30, tzinfo=UTC)]
    assert [e.at for e in nov3] == [datetime(2026, 11, 3, 1, 0, tzinfo=UTC)]
    assert all(e.at.utcoffset() == timedelta(0) for e in nov2 + nov3)


def test_r5_end_before_start_is_invalid_input(led: Ledger) -> None:
    _, order_id = tenant_with_order(led)
    led.view_key(AGENT, order_id)
    with pytest.raises(InvalidInput) as info:
        led.activity_log(AUDITOR, start=date(2026, 11, 3), end=date(2026, 11, 2))
    assert info.value.field in {"start", "end"}
    # The refused read changed nothing: the entry is still there.
    assert len(_all(led)) == 1


def test_r5_entries_come_oldest_first_across_orders_and_users(
    led: Ledger, clock: ManualClock
) -> None:
    tid_a, order_a = tenant_with_order(led)
    tid_b, order_b = tenant_with_order(led)
    steps = [
        (AGENT, order_b, "key_viewed"),
        (customer_admin(tid_a), order_a, "downloaded"),
        (AGENT, order_a, "link_copied"),
        (customer_admin(tid_b, user="bea"), order_b, "key_viewed"),
        (AGENT, order_b, "downloaded"),
    ]
    expected = []
    for step, (actor, order_id, action) in enumerate(steps):
        at = START + timedelta(hours=step + 1)
        clock.set(at)
        if action == "key_viewed":
            led.view_key(actor, order_id)
        elif action == "downloaded":
            led.download(actor, order_id, version="2024", language="en-US", bitness=64)
        else:
            led.copy_link(actor, order_id, version="2024", language="en-US", bitness=64)
        expected.append((at, actor.user, action, order_id))
    entries = _all(led)
    assert [(e.at, e.user, e.action, e.order_id) for e in entries] == expected
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    tenants = {order_a: tid_a, order_b: tid_b}
    assert all(e.tenant_id == tenants[e.order_id] for e in entries)


def test_r5_includes_customer_users_actions(led: Ledger, clock: ManualClock) -> None:
    tid, order_id = tenant_with_order(led)
    carol = customer_admin(tid)
    led.view_key(carol, order_id)
    clock.advance(timedelta(seconds=1))
    led.download(carol, order_id, version="2024", language="nl-NL", bitness=32)
    clock.advance(timedelta(seconds=1))
    led.copy_link(carol, order_id, version="2024", language="nl-NL", bitness=32)
    entries = _all(led)
    assert [(e.user, e.action) for e in entries] == [
        ("carol", "key_viewed"),
        ("carol", "downloaded"),
        ("carol", "link_copied"),
    ]
    assert {e.tenant_id for e in entries} == {tid}
    assert {e.title for e in entries} == {product().title}


def test_r5_shows_only_the_readers_own_partners_orders(led: Ledger, clock: ManualClock) -> None:
    other_agent = partner("otto", partner_id="P2")
    other_auditor = partner("olga", Role.GLOBAL_ADMIN, partner_id="P2")
    tid1, order1 = tenant_with_order(led)
    tid2, order2 = tenant_with_order(led, actor=other_agent)
    led.view_key(AGENT, order1)
    clock.advance(timedelta(seconds=1))
    led.view_key(other_agent, order2)
    clock.advance(timedelta(seconds=1))
    led.view_key(customer_admin(tid2, user="dora"), order2)
    mine = _all(led)
    theirs = _all(led, other_auditor)
    assert [(e.user, e.order_id) for e in mine] == [("ann", order1)]
    assert [(e.user, e.order_id) for e in theirs] == [("otto", order2), ("dora", order2)]
    assert {e.tenant_id for e in mine} == {tid1}


def test_r5_only_key_views_downloads_and_link_copies_are_logged(
    led: Ledger, clock: ManualClock
) -> None:
    tid, order_id = tenant_with_order(led)
    led.software(AGENT, tid)
    led.cancellation_status(AGENT, order_id)
    led.monthly_credits(AUDITOR, "2026-11")
    assert _all(led) == []
    led.view_key(AGENT, order_id)
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, order_id)
    assert [e.action for e in _all(led)] == ["key_viewed"]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-11-01", date(2026, 11, 2), "start"),
        (date(2026, 11, 1), "2026-11-02", "end"),
        (None, date(2026, 11, 2), "start"),
        (date(2026, 11, 1), 20261102, "end"),
        (datetime(2026, 11, 1), date(2026, 11, 2), "start"),
        (date(2026, 11, 1), datetime(2026, 11, 2), "end"),
    ],
)
def test_r5_range_bounds_of_the_wrong_type_are_invalid_input(
    led: Ledger, start: object, end: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        led.activity_log(AUDITOR, start=start, end=end)  # type: ignore[arg-type]
    assert info.value.field == field
