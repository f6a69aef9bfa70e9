"""Unit tests of money and the policies, no store involved (the aggregates: test_domain_rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger import CancellationPolicy, Money, ProductKind
from ledger.countries import validate_market
from ledger.errors import (
    InvalidInput,
    MarketUnavailable,
)
from ledger.policies.cancellation import credit_for_cancellation, days_left, days_used
from ledger.policies.markets import (
    AZURE_RESERVATION_UNAVAILABLE,
    check_can_sell,
    is_tax_inclusive,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEFAULT = CancellationPolicy.default()
SPEC_R1_CODE_COUNT = 106


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
