"""Unit tests of the pure domain: money, policies and aggregates, no store involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger import CancellationPolicy, Money, ProductKind
from ledger.aggregates import Licence, Order
from ledger.errors import (
    AlreadyCancelled,
    CancellationWindowClosed,
    InvalidInput,
    KeyRevoked,
    MarketUnavailable,
    NotCancellable,
)
from ledger.policies.cancellation import credit_for_cancellation, days_left, days_used
from ledger.policies.countries import validate_market
from ledger.policies.markets import (
    AZURE_RESERVATION_UNAVAILABLE,
    check_can_sell,
    is_tax_inclusive,
)
from tests.support import product

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEFAULT = CancellationPolicy.default()
SPEC_R1_CODE_COUNT = 106


def make_order(kind: ProductKind = ProductKind.PERPETUAL, term_days: int | None = None) -> Order:
    policy = CancellationPolicy.default()
    item = product(kind, term_days)
    return Order.purchase(
        order_id=uuid4(),
        partner_id="P1",
        tenant_id=uuid4(),
        market="NL",
        product=item,
        quantity=3,
        unit_price=Money("10.00", "EUR"),
        tax_inclusive=False,
        cancellable_until=policy.deadline(item.kind, T0),
        idempotency_key=None,
        request_fingerprint="f",
        user="ann",
        now=T0,
    )


def test_r2_money_normalises_to_the_minor_unit() -> None:
    assert Money("5", "EUR").amount == Decimal("5.00")
    assert str(Money(7, "JPY")) == "7 JPY"
    assert Money("1.234", "KWD").minor_units == 1234
    assert Money.from_minor_units(1999, "EUR") == Money("19.99", "EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("10.005", "USD", "amount"),
        ("1.5", "JPY", "amount"),
        (1.5, "EUR", "amount"),
        (True, "EUR", "amount"),
        ("NaN", "EUR", "amount"),
        ("ten", "EUR", "amount"),
        ("1.00", "XAU", "currency"),
        ("1.00", "eur", "currency"),
        ("1.00", "EURO", "currency"),
    ],
)
def test_r2_money_constructor_refuses_bad_input(amount: object, currency: str, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Money(amount, currency)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_r2_money_never_mixes_currencies() -> None:
    with pytest.raises(InvalidInput):
        _ = Money("1.00", "EUR") + Money("1.00", "USD")
    with pytest.raises(InvalidInput):
        _ = Money("1.00", "EUR") < Money("1.00", "USD")


def test_r8_prorate_rounds_half_even_exactly() -> None:
    # 0.125 EUR → 0.12 (half to even), 0.135 → 0.14, computed without float or context limits.
    assert Money("0.25", "EUR").prorate(1, 2) == Money("0.12", "EUR")
    assert Money("0.27", "EUR").prorate(1, 2) == Money("0.14", "EUR")
    assert Money("100.00", "EUR").prorate(1, 3) == Money("33.33", "EUR")


def test_r8_days_used_counts_started_days() -> None:
    assert days_used(T0, T0) == 1
    assert days_used(T0, T0 + timedelta(hours=23, minutes=59)) == 1
    assert days_used(T0, T0 + timedelta(days=1)) == 2


def test_r8_subscription_credit_is_prorated_and_never_negative() -> None:
    total = Money("365.00", "EUR")
    after_two_days = T0 + timedelta(days=2)
    assert credit_for_cancellation(
        ProductKind.SUBSCRIPTION, total, 365, T0, after_two_days
    ) == Money("362.00", "EUR")
    assert credit_for_cancellation(
        ProductKind.SUBSCRIPTION, total, 7, T0, T0 + timedelta(days=20)
    ) == Money("0.00", "EUR")
    assert credit_for_cancellation(ProductKind.PERPETUAL, total, None, T0, after_two_days) == total


def test_r9_days_left_is_ceiling_and_zero_when_closed() -> None:
    deadline = T0 + timedelta(days=30)
    assert days_left(deadline, T0) == 30
    assert days_left(deadline, T0 + timedelta(microseconds=1)) == 30
    assert days_left(deadline, deadline - timedelta(microseconds=1)) == 1
    assert days_left(deadline, deadline) == 0


def test_r6_policy_is_configuration() -> None:
    seven = CancellationPolicy.seven_day_subscriptions()
    assert seven.deadline(ProductKind.SUBSCRIPTION, T0) == T0 + timedelta(days=7)
    assert seven.deadline(ProductKind.PERPETUAL, T0) == T0 + timedelta(days=30)
    assert seven.deadline(ProductKind.SOFTWARE_PLAN, T0) is None
    custom = CancellationPolicy({ProductKind.AZURE_RESERVATION: timedelta(days=7)})
    assert custom.is_cancellable_kind(ProductKind.AZURE_RESERVATION)
    with pytest.raises(InvalidInput):
        CancellationPolicy({ProductKind.PERPETUAL: timedelta(0)})


def test_r1_market_list_is_the_spec_list() -> None:
    assert len(AZURE_RESERVATION_UNAVAILABLE) == SPEC_R1_CODE_COUNT
    for code in AZURE_RESERVATION_UNAVAILABLE:
        assert validate_market("market", code) == code
    with pytest.raises(MarketUnavailable):
        check_can_sell(ProductKind.AZURE_RESERVATION, "CN")
    check_can_sell(ProductKind.PERPETUAL, "CN")
    check_can_sell(ProductKind.AZURE_RESERVATION, "NL")
    assert is_tax_inclusive("AU")
    assert is_tax_inclusive("BR")
    assert not is_tax_inclusive("NL")


def test_r6_order_decides_before_it_records() -> None:
    order = make_order()
    with pytest.raises(CancellationWindowClosed):
        order.cancel("ann", T0 + timedelta(days=30), DEFAULT)
    assert order.collect_events()[-1].__class__ is Order.Purchased
    credit = order.cancel("ann", T0 + timedelta(days=29, hours=23), DEFAULT)
    assert credit == Money("30.00", "EUR")
    assert [type(e) for e in order.collect_events()] == [Order.Cancelled, Order.CreditIssued]
    with pytest.raises(AlreadyCancelled):
        order.cancel("ann", T0 + timedelta(days=1), DEFAULT)
    plan = make_order(ProductKind.SOFTWARE_PLAN)
    with pytest.raises(NotCancellable):
        plan.cancel("ann", T0, DEFAULT)


def test_order_state_is_rebuilt_from_its_events() -> None:
    order = make_order(ProductKind.SUBSCRIPTION, 30)
    order.cancel("ann", T0 + timedelta(days=3), DEFAULT)
    events = order.collect_events()
    replayed: Order | None = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.cancelled_at == T0 + timedelta(days=3)
    assert replayed.credited == order.credited
    assert replayed.version == order.version == 3


def test_r4_revoked_licence_refuses_access_without_an_event() -> None:
    licence = Licence.issue(
        order_id=uuid4(),
        partner_id="P1",
        tenant_id=uuid4(),
        title="Office",
        key_ciphertext="sealed",
        versions=("2024",),
        languages=("en-US",),
        bitness=(64,),
        user="ann",
        now=T0,
    )
    licence.revoke("cancelled", "ann", T0)
    licence.collect_events()
    with pytest.raises(KeyRevoked):
        licence.view_key("ann", T0)
    with pytest.raises(InvalidInput) as raised:
        licence.record_link(
            copied=False,
            version="2019",
            language="en-US",
            bitness=64,
            expires_at=T0,
            user="ann",
            now=T0,
        )
    assert raised.value.field == "version"
    assert licence.collect_events() == []
