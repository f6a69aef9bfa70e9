"""R6 (window), R7 (effects), R8 (credit amount) and R9 (status) of cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from ledger import Actor, CancellationPolicy, Ledger, Money, Product, ProductKind, Role
from ledger.errors import (
    AccessDenied,
    AlreadyCancelled,
    CancellationWindowClosed,
    ConfigurationError,
    InvalidInput,
    KeyRevoked,
    NotCancellable,
    OrderNotFound,
)
from tests.support import (
    AGENT,
    START,
    HalfCredit,
    ManualClock,
    Overpaying,
    customer_admin,
    eur,
    partner,
    tenant_with_order,
)

ACCOUNTS = partner("gina", Role.GLOBAL_ADMIN)
DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
US = timedelta(microseconds=1)
ALL_PARTNER_ROLES = [
    Role.ADMIN_AGENT,
    Role.SALES_AGENT,
    Role.GLOBAL_ADMIN,
    Role.ACCOUNT_ADMIN,
    Role.REFERRAL_ADMIN,
    Role.MARKETING_CONTENT_ADMIN,
]
NEVER_CANCELLABLE = [ProductKind.SOFTWARE_PLAN, ProductKind.AZURE_RESERVATION]
CANCELLABLE = [ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION]


def _month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def _assert_untouched(led: Ledger, tid: UUID, order_id: UUID) -> None:
    [item] = led.software(AGENT, tid)
    assert item.order_id == order_id
    assert item.status == "active"
    assert item.key_available is True
    assert led.view_key(AGENT, order_id)
    for month in ("2026-10", "2026-11", "2026-12", "2027-01"):
        assert led.monthly_credits(ACCOUNTS, month).lines == ()


# --------------------------------------------------------------------------- R6


@pytest.mark.parametrize("kind", CANCELLABLE)
def test_r6_cancel_one_microsecond_before_the_deadline_is_accepted(
    led: Ledger, clock: ManualClock, kind: ProductKind
) -> None:
    tid, order_id = tenant_with_order(led, kind)
    clock.set(START + WINDOW - US)
    c = led.cancel(AGENT, order_id)
    assert c.order_id == order_id
    assert c.cancelled_at == START + WINDOW - US
    [item] = led.software(AGENT, tid)
    assert item.status == "cancelled"


@pytest.mark.parametrize("kind", CANCELLABLE)
def test_r6_cancel_at_the_deadline_is_refused(
    led: Ledger, clock: ManualClock, kind: ProductKind
) -> None:
    tid, order_id = tenant_with_order(led, kind)
    clock.set(START + WINDOW)
    with pytest.raises(CancellationWindowClosed):
        led.cancel(AGENT, order_id)
    _assert_untouched(led, tid, order_id)


@pytest.mark.parametrize("late", [US, DAY, timedelta(days=400)])
def test_r6_cancel_after_the_deadline_is_refused(
    led: Ledger, clock: ManualClock, late: timedelta
) -> None:
    tid, order_id = tenant_with_order(led)
    clock.set(START + WINDOW + late)
    with pytest.raises(CancellationWindowClosed):
        led.cancel(AGENT, order_id)
    _assert_untouched(led, tid, order_id)


def test_r6_window_is_counted_from_the_purchase_instant(led: Ledger, clock: ManualClock) -> None:
    bought = datetime(2026, 11, 5, 17, 42, 13, 250000, tzinfo=UTC)
    clock.set(bought)
    tid, order_id = tenant_with_order(led)
    clock.set(bought + WINDOW)
    with pytest.raises(CancellationWindowClosed):
        led.cancel(AGENT, order_id)
    _assert_untouched(led, tid, order_id)
    clock.set(bought + WINDOW - US)
    assert led.cancel(AGENT, order_id).cancelled_at == bought + WINDOW - US


@pytest.mark.parametrize("kind", NEVER_CANCELLABLE)
def test_r6_software_plans_and_azure_reservations_are_not_cancellable(
    led: Ledger, clock: ManualClock, kind: ProductKind
) -> None:
    tid, order_id = tenant_with_order(led, kind)
    for moment in (START, START + DAY, START + WINDOW + DAY):
        clock.set(moment)
        with pytest.raises(NotCancellable):
            led.cancel(AGENT, order_id)
    [item] = led.software(AGENT, tid)
    assert item.status == "active"
    assert item.key_available is True
    assert led.monthly_credits(ACCOUNTS, "2026-11").lines == ()


def test_r6_second_cancel_is_already_cancelled_and_issues_no_second_credit(
    led: Ledger, clock: ManualClock
) -> None:
    tid, order_id = tenant_with_order(led)
    clock.advance(DAY)
    first = led.cancel(AGENT, order_id)
    clock.advance(DAY)
    with pytest.raises(AlreadyCancelled):
        led.cancel(AGENT, order_id)
    statement = led.monthly_credits(ACCOUNTS, "2026-11")
    assert [line.amount for line in statement.lines] == [first.credit]
    [item] = led.software(AGENT, tid)
    assert item.status == "cancelled"


@pytest.mark.parametrize("role", [r for r in ALL_PARTNER_ROLES if r is not Role.ADMIN_AGENT])
def test_r6_only_the_admin_agent_cancels(led: Ledger, role: Role) -> None:
    tid, order_id = tenant_with_order(led)
    with pytest.raises(AccessDenied):
        led.cancel(partner("sue", role), order_id)
    _assert_untouched(led, tid, order_id)


@pytest.mark.parametrize("many", [list, tuple, set])
def test_r6_cancel_takes_one_order_id_at_a_time(led: Ledger, many: type) -> None:
    tid, order_id = tenant_with_order(led)
    _, second = tenant_with_order(led)
    with pytest.raises(InvalidInput) as info:
        led.cancel(AGENT, many([order_id, second]))
    assert info.value.field == "order_id"
    _assert_untouched(led, tid, order_id)


def test_r6_customer_users_may_not_cancel(led: Ledger) -> None:
    tid, order_id = tenant_with_order(led)
    with pytest.raises(AccessDenied):
        led.cancel(customer_admin(tid), order_id)
    _assert_untouched(led, tid, order_id)


def test_r6_admin_agent_of_another_partner_does_not_see_the_order(led: Ledger) -> None:
    tid, order_id = tenant_with_order(led)
    with pytest.raises(OrderNotFound):
        led.cancel(partner("otto", partner_id="P2"), order_id)
    _assert_untouched(led, tid, order_id)


def test_r6_seven_day_subscription_preset_is_configuration(
    store_url: str, clock: ManualClock
) -> None:
    policy = CancellationPolicy.seven_day_subscriptions()
    with Ledger.open(store_url, clock=clock, cancellation_policy=policy) as led:
        sub_tid, sub = tenant_with_order(led, ProductKind.SUBSCRIPTION)
        _, sub_early = tenant_with_order(led, ProductKind.SUBSCRIPTION)
        _, perp = tenant_with_order(led, ProductKind.PERPETUAL)
        [item] = led.software(AGENT, sub_tid)
        assert item.cancellable_until == START + timedelta(days=7)
        status = led.cancellation_status(AGENT, sub)
        assert status.cancellable_until == START + timedelta(days=7)
        assert status.days_left == 7

        clock.set(START + timedelta(days=3, hours=12))
        assert led.cancellation_status(AGENT, sub).days_left == 4

        clock.set(START + timedelta(days=7) - US)
        assert led.cancel(AGENT, sub_early).cancelled_at == START + timedelta(days=7) - US

        clock.set(START + timedelta(days=7))
        with pytest.raises(CancellationWindowClosed):
            led.cancel(AGENT, sub)
        status = led.cancellation_status(AGENT, sub)
        assert (status.cancellable, status.reason) == (False, "window_closed")

        # Perpetual licences keep the 30-day window under this preset.
        clock.set(START + timedelta(days=8))
        assert led.cancellation_status(AGENT, perp).cancellable_until == START + WINDOW
        assert led.cancel(AGENT, perp).credit == eur("100.00")


def test_r6_default_policy_gives_subscriptions_30_days(store_url: str, clock: ManualClock) -> None:
    policy = CancellationPolicy.default()
    with Ledger.open(store_url, clock=clock, cancellation_policy=policy) as led:
        _, sub = tenant_with_order(led, ProductKind.SUBSCRIPTION)
        clock.set(START + timedelta(days=8))
        assert led.cancellation_status(AGENT, sub).cancellable is True
        assert led.cancel(AGENT, sub).cancelled_at == START + timedelta(days=8)


def test_r8_a_policy_subclass_sets_the_credit(store_url: str, clock: ManualClock) -> None:
    policy = HalfCredit(CancellationPolicy.default().windows)
    with Ledger.open(store_url, clock=clock, cancellation_policy=policy) as led:
        _, order_id = tenant_with_order(led, unit_price=eur("99.99"))
        assert led.cancel(AGENT, order_id).credit == eur("50.00")  # 49.995, half-even
        [line] = led.monthly_credits(ACCOUNTS, _month(START)).lines
        assert line.amount == eur("50.00")


def test_r8_a_policy_credit_beyond_the_order_is_refused_and_nothing_written(
    store_url: str, clock: ManualClock
) -> None:
    policy = Overpaying(CancellationPolicy.default().windows)
    with Ledger.open(store_url, clock=clock, cancellation_policy=policy) as led:
        tid, order_id = tenant_with_order(led)
        with pytest.raises(ConfigurationError, match=r"credited 200\.00 EUR"):
            led.cancel(AGENT, order_id)
        _assert_untouched(led, tid, order_id)


# --------------------------------------------------------------------------- R7


def test_r7_cancelled_order_stays_in_the_software_list_without_a_key(
    led: Ledger, clock: ManualClock
) -> None:
    tid, order_id = tenant_with_order(led, quantity=3)
    _, other = tenant_with_order(led)
    clock.advance(DAY)
    led.cancel(AGENT, order_id)
    [item] = led.software(AGENT, tid)
    assert item.order_id == order_id
    assert item.status == "cancelled"
    assert item.key_available is False
    assert item.quantity == 3
    assert item.total == eur("300.00")
    assert item.purchased_at == START
    assert [i.status for i in led.software(customer_admin(tid), tid)] == ["cancelled"]
    with pytest.raises(KeyRevoked):
        led.view_key(AGENT, order_id)
    # The other order of the partner is untouched.
    assert led.view_key(AGENT, other)


def test_r7_cancellation_reports_credit_time_and_invoice_month(
    led: Ledger, clock: ManualClock
) -> None:
    tid, order_id = tenant_with_order(led)
    at = clock.advance(timedelta(days=3, hours=2))
    c = led.cancel(AGENT, order_id)
    assert c.order_id == order_id
    assert c.credit == eur("100.00")
    assert c.cancelled_at == at
    assert c.invoice_month == "2026-11"
    statement = led.monthly_credits(ACCOUNTS, "2026-11")
    assert statement.month == "2026-11"
    [line] = statement.lines
    assert (line.order_id, line.tenant_id, line.amount) == (order_id, tid, eur("100.00"))
    assert line.issued_at == at
    assert statement.totals == {"EUR": eur("100.00")}


@pytest.mark.parametrize(
    ("cancel_at", "month", "not_month"),
    [
        (datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC), "2026-11", "2026-12"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "2026-12", "2026-11"),
        # The clock may report another zone: the month is the UTC month.
        (datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2026-11", "2026-12"),
        (datetime(2026, 11, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-12", "2026-11"),
    ],
)
def test_r7_credit_lands_in_the_utc_month_it_was_issued(
    led: Ledger, clock: ManualClock, cancel_at: datetime, month: str, not_month: str
) -> None:
    clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    _, order_id = tenant_with_order(led)
    clock.set(cancel_at)
    c = led.cancel(AGENT, order_id)
    assert c.invoice_month == month == _month(cancel_at)
    assert [line.order_id for line in led.monthly_credits(ACCOUNTS, month).lines] == [order_id]
    assert led.monthly_credits(ACCOUNTS, not_month).lines == ()
    [line] = led.monthly_credits(ACCOUNTS, month).lines
    assert line.issued_at == cancel_at
    assert line.issued_at.utcoffset() == timedelta(0)


def test_r7_monthly_totals_are_per_currency(led: Ledger, clock: ManualClock) -> None:
    _, a = tenant_with_order(led, unit_price=eur("10.00"), quantity=2)
    _, b = tenant_with_order(led, unit_price=eur("0.05"))
    _, c = tenant_with_order(led, unit_price=Money("1500", "JPY"))
    clock.advance(DAY)
    for order_id in (a, b, c):
        led.cancel(AGENT, order_id)
    statement = led.monthly_credits(ACCOUNTS, "2026-11")
    assert len(statement.lines) == 3
    assert statement.totals == {"EUR": eur("20.05"), "JPY": Money("1500", "JPY")}


@pytest.mark.parametrize("roles", [{Role.GLOBAL_ADMIN}, {Role.ACCOUNT_ADMIN}, {Role.ADMIN_AGENT}])
def test_r7_monthly_credits_readers(led: Ledger, clock: ManualClock, roles: set[Role]) -> None:
    _, order_id = tenant_with_order(led)
    clock.advance(DAY)
    led.cancel(AGENT, order_id)
    reader = Actor(user="rex", roles=roles, partner_id="P1")
    assert len(led.monthly_credits(reader, "2026-11").lines) == 1


@pytest.mark.parametrize(
    "roles", [{Role.SALES_AGENT}, {Role.REFERRAL_ADMIN}, {Role.MARKETING_CONTENT_ADMIN}, set()]
)
def test_r7_monthly_credits_are_closed_to_other_partner_roles(
    led: Ledger, roles: set[Role]
) -> None:
    reader = Actor(user="rex", roles=roles, partner_id="P1")
    with pytest.raises(AccessDenied):
        led.monthly_credits(reader, "2026-11")


def test_r7_monthly_credits_are_closed_to_customer_users(led: Ledger) -> None:
    tid, _ = tenant_with_order(led)
    with pytest.raises(AccessDenied):
        led.monthly_credits(customer_admin(tid), "2026-11")


def test_r7_monthly_credits_show_only_the_readers_partner(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led)
    clock.advance(DAY)
    led.cancel(AGENT, order_id)
    other = partner("olga", Role.GLOBAL_ADMIN, partner_id="P2")
    statement = led.monthly_credits(other, "2026-11")
    assert statement.lines == ()
    assert statement.totals == {}


# --------------------------------------------------------------------------- R8


@pytest.mark.parametrize(
    ("unit_price", "quantity", "elapsed"),
    [
        (eur("100.00"), 1, timedelta(0)),
        (eur("33.33"), 3, timedelta(days=29, hours=23, minutes=59)),
        (Money("1999", "JPY"), 7, timedelta(days=15)),
        (Money("0.333", "KWD"), 3, WINDOW - US),
    ],
)
def test_r8_perpetual_credit_is_the_whole_total(
    led: Ledger, clock: ManualClock, unit_price: Money, quantity: int, elapsed: timedelta
) -> None:
    _, order_id = tenant_with_order(led, unit_price=unit_price, quantity=quantity)
    clock.set(START + elapsed)
    c = led.cancel(AGENT, order_id)
    assert c.credit == unit_price * quantity
    assert c.credit.currency == unit_price.currency


# (term_days, unit price, quantity, elapsed since purchase, credit) — each computed by hand:
# credit = round_half_even(total × (term − days_used) / term), days_used = ⌊elapsed/1d⌋ + 1.
SUBSCRIPTION_CREDITS = [
    # 120 × 364/365 = 119.6712…
    (365, eur("120.00"), 1, timedelta(0), eur("119.67")),
    (365, eur("120.00"), 1, DAY - US, eur("119.67")),
    # one full day elapsed starts the second day: 120 × 363/365 = 119.3424…
    (365, eur("120.00"), 1, DAY, eur("119.34")),
    # 29 d 23 h: days_used 30, 120 × 335/365 = 110.1369…
    (365, eur("120.00"), 1, timedelta(days=29, hours=23), eur("110.14")),
    (365, eur("120.00"), 1, WINDOW - US, eur("110.14")),
    # 7 × 10 = 70, 10 d 5 h: days_used 11, 70 × 19/30 = 44.333…
    (30, eur("10.00"), 7, timedelta(days=10, hours=5), eur("44.33")),
    # 30-day term, 29 d elapsed: days_used 30, nothing left
    (30, eur("10.00"), 7, timedelta(days=29), eur("0.00")),
    # ties round half to even: 0.025 → 0.02, 0.075 → 0.08, 0.125 → 0.12, 0.175 → 0.18
    (2, eur("0.05"), 1, timedelta(0), eur("0.02")),
    (2, eur("0.15"), 1, timedelta(0), eur("0.08")),
    (2, eur("0.25"), 1, timedelta(0), eur("0.12")),
    (2, eur("0.35"), 1, timedelta(0), eur("0.18")),
    # JPY has no minor digits: 2.5 → 2, 7.5 → 8; 1000 × 2/3 = 666.67 → 667
    (2, Money("5", "JPY"), 1, timedelta(0), Money("2", "JPY")),
    (2, Money("15", "JPY"), 1, timedelta(0), Money("8", "JPY")),
    (3, Money("1000", "JPY"), 1, timedelta(0), Money("667", "JPY")),
    # KWD has three: 1.000 × 2/3 = 0.6666… → 0.667
    (3, Money("1.000", "KWD"), 1, timedelta(0), Money("0.667", "KWD")),
    # terms shorter than the window: 10 × 2/3, 10 × 1/3, then never below zero
    (3, eur("10.00"), 1, timedelta(0), eur("6.67")),
    (3, eur("10.00"), 1, DAY, eur("3.33")),
    (3, eur("10.00"), 1, 2 * DAY, eur("0.00")),
    (3, eur("10.00"), 1, timedelta(days=5), eur("0.00")),
    (3, eur("10.00"), 1, WINDOW - US, eur("0.00")),
    (1, eur("10.00"), 1, timedelta(0), eur("0.00")),
]


@pytest.mark.parametrize(
    ("term_days", "unit_price", "quantity", "elapsed", "credit"), SUBSCRIPTION_CREDITS
)
def test_r8_subscription_credit_is_prorated_by_unused_started_days(
    led: Ledger,
    clock: ManualClock,
    term_days: int,
    unit_price: Money,
    quantity: int,
    elapsed: timedelta,
    credit: Money,
) -> None:
    _, order_id = tenant_with_order(
        led, ProductKind.SUBSCRIPTION, unit_price=unit_price, quantity=quantity, term_days=term_days
    )
    clock.set(START + elapsed)
    c = led.cancel(AGENT, order_id)
    assert c.credit == credit
    assert c.credit.currency == unit_price.currency
    assert c.credit.amount.as_tuple().exponent == credit.amount.as_tuple().exponent


def test_r8_credit_in_the_monthly_statement_matches_the_cancellation(
    led: Ledger, clock: ManualClock
) -> None:
    _, order_id = tenant_with_order(
        led, ProductKind.SUBSCRIPTION, unit_price=eur("120.00"), term_days=365
    )
    clock.set(START + DAY)
    assert led.cancel(AGENT, order_id).credit == eur("119.34")
    statement = led.monthly_credits(ACCOUNTS, "2026-11")
    assert [line.amount for line in statement.lines] == [eur("119.34")]
    assert statement.totals == {"EUR": eur("119.34")}


@pytest.mark.parametrize("term_days", [0, -1, True, 1.5, "30"])
def test_r8_term_days_must_be_an_int_of_at_least_one(term_days: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Product(
            product_id="PRD-SUB",
            sku_id="0001",
            title="Office",
            kind=ProductKind.SUBSCRIPTION,
            term_days=term_days,  # type: ignore[arg-type]
        )
    assert info.value.field == "term_days"


def test_r8_subscription_needs_a_term() -> None:
    with pytest.raises(InvalidInput) as info:
        Product(product_id="P", sku_id="0001", title="Office", kind=ProductKind.SUBSCRIPTION)
    assert info.value.field == "term_days"


# --------------------------------------------------------------------------- R9


@pytest.mark.parametrize(
    ("elapsed", "days_left"),
    [
        (timedelta(0), 30),
        (US, 30),
        (timedelta(hours=12), 30),
        (DAY - US, 30),
        (DAY, 29),
        (DAY + US, 29),
        (timedelta(days=29), 1),
        (timedelta(days=29, microseconds=1), 1),
        (WINDOW - US, 1),
    ],
)
@pytest.mark.parametrize("kind", CANCELLABLE)
def test_r9_open_window_reports_days_left_rounded_up(
    led: Ledger, clock: ManualClock, kind: ProductKind, elapsed: timedelta, days_left: int
) -> None:
    _, order_id = tenant_with_order(led, kind)
    clock.set(START + elapsed)
    status = led.cancellation_status(AGENT, order_id)
    assert status.cancellable is True
    assert status.days_left == days_left
    assert status.cancellable_until == START + WINDOW
    assert status.reason is None
    assert status.refund_request_possible is False


@pytest.mark.parametrize("elapsed", [WINDOW, WINDOW + US, timedelta(days=45)])
def test_r9_closed_window_reports_window_closed_and_refund_request_possible(
    led: Ledger, clock: ManualClock, elapsed: timedelta
) -> None:
    _, order_id = tenant_with_order(led)
    clock.set(START + elapsed)
    status = led.cancellation_status(AGENT, order_id)
    assert status.cancellable is False
    assert status.days_left == 0
    assert status.cancellable_until == START + WINDOW
    assert status.reason == "window_closed"
    assert status.refund_request_possible is True


@pytest.mark.parametrize("kind", NEVER_CANCELLABLE)
def test_r9_never_cancellable_kinds_report_not_cancellable(
    led: Ledger, clock: ManualClock, kind: ProductKind
) -> None:
    _, order_id = tenant_with_order(led, kind)
    for moment in (START, START + WINDOW + DAY):
        clock.set(moment)
        status = led.cancellation_status(AGENT, order_id)
        assert status.cancellable is False
        assert status.days_left == 0
        assert status.cancellable_until is None
        assert status.reason == "not_cancellable"
        assert status.refund_request_possible is False


def test_r9_cancelled_order_reports_cancelled_and_keeps_its_deadline(
    led: Ledger, clock: ManualClock
) -> None:
    _, order_id = tenant_with_order(led)
    clock.set(START + timedelta(days=2))
    led.cancel(AGENT, order_id)
    for moment in (START + timedelta(days=3), START + WINDOW + DAY):
        clock.set(moment)
        status = led.cancellation_status(AGENT, order_id)
        assert status.cancellable is False
        assert status.days_left == 0
        assert status.cancellable_until == START + WINDOW
        assert status.reason == "cancelled"
        assert status.refund_request_possible is False


@pytest.mark.parametrize("roles", [{r} for r in ALL_PARTNER_ROLES] + [set()])
def test_r9_any_partner_user_of_the_owning_partner_may_ask(led: Ledger, roles: set[Role]) -> None:
    _, order_id = tenant_with_order(led)
    asker = Actor(user="pat", roles=roles, partner_id="P1")
    status = led.cancellation_status(asker, order_id)
    assert (status.cancellable, status.days_left) == (True, 30)


def test_r9_customer_user_may_not_ask(led: Ledger) -> None:
    tid, order_id = tenant_with_order(led)
    with pytest.raises(AccessDenied):
        led.cancellation_status(customer_admin(tid), order_id)


def test_r9_other_partner_does_not_see_the_order(led: Ledger) -> None:
    _, order_id = tenant_with_order(led)
    with pytest.raises(OrderNotFound):
        led.cancellation_status(partner("otto", Role.GLOBAL_ADMIN, partner_id="P2"), order_id)


def test_r9_asking_changes_nothing(led: Ledger, clock: ManualClock) -> None:
    tid, order_id = tenant_with_order(led)
    clock.set(START + WINDOW - US)
    for _ in range(3):
        led.cancellation_status(AGENT, order_id)
    _assert_untouched(led, tid, order_id)
    assert led.cancel(AGENT, order_id).credit == eur("100.00")
