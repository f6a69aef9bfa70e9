"""Property tests: R8 credit arithmetic and Money (the state machine is in test_state_machine)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger import Ledger, Money, Product, ProductKind
from ledger.errors import (
    InvalidInput,
)
from tests.support import START, ManualClock, customer, partner, product

DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
EXPONENTS = {"EUR": 2, "JPY": 0, "KWD": 3}
currencies = st.sampled_from(sorted(EXPONENTS))


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-EXPONENTS[currency])


def within_total_bound(currency: str, unit_minor: int, quantity: int) -> int:
    """The quantity, lowered so that the order total stays within R15's 10^12."""
    most = 10**12 * 10 ** EXPONENTS[currency] // unit_minor
    return max(1, min(quantity, most))


def model_credit(total: Decimal, currency: str, term_days: int, elapsed: timedelta) -> Decimal:
    """R8 for a subscription, written out with plain Decimals."""
    days_used = elapsed // DAY + 1
    remaining = max(term_days - days_used, 0)
    with localcontext() as ctx:
        ctx.prec = 60
        exact = total * remaining / term_days
        return exact.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


# -- (1) R8 credit arithmetic ------------------------------------------------------------


@dataclass
class Fixture:
    led: Ledger
    clock: ManualClock
    tenant_id: UUID


@pytest.fixture(scope="module")
def shop() -> Iterator[Fixture]:
    clock = ManualClock()
    with Ledger.open(clock=clock) as led:
        cust = customer()
        led.add_customer(partner(), cust)
        yield Fixture(led, clock, cust.tenant_id)


def subscription(term_days: int) -> Product:
    return Product(
        product_id="PRD-SUB",
        sku_id="0001",
        title="Office Subscription",
        kind=ProductKind.SUBSCRIPTION,
        term_days=term_days,
        versions=("2024",),
        languages=("en-US",),
        bitness=(64,),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    currency=currencies,
    unit_minor=st.integers(min_value=1, max_value=10**9),
    quantity=st.integers(min_value=1, max_value=100_000),
    term_days=st.integers(min_value=1, max_value=1000),
    elapsed_us=st.integers(min_value=0, max_value=WINDOW // timedelta(microseconds=1) - 1),
)
# Exact halves: 0.05 EUR × 1 day left of 2 → 0.025 → 0.02; 0.15 → 0.075 → 0.08.
@example(currency="EUR", unit_minor=5, quantity=1, term_days=2, elapsed_us=0)
@example(currency="EUR", unit_minor=15, quantity=1, term_days=2, elapsed_us=0)
@example(currency="JPY", unit_minor=5, quantity=1, term_days=2, elapsed_us=0)
@example(currency="KWD", unit_minor=1, quantity=3, term_days=6, elapsed_us=0)
# Day boundaries: just before and at 24 h, and the last microsecond of the window.
@example(currency="EUR", unit_minor=36500, quantity=1, term_days=365, elapsed_us=86_400_000_000 - 1)
@example(currency="EUR", unit_minor=36500, quantity=1, term_days=365, elapsed_us=86_400_000_000)
@example(currency="EUR", unit_minor=100, quantity=1, term_days=7, elapsed_us=2_591_999_999_999)
def test_r8_subscription_credit_matches_the_decimal_model(
    shop: Fixture,
    currency: str,
    unit_minor: int,
    quantity: int,
    term_days: int,
    elapsed_us: int,
) -> None:
    unit_price = Money(Decimal(unit_minor).scaleb(-EXPONENTS[currency]), currency)
    quantity = within_total_bound(currency, unit_minor, quantity)
    shop.clock.set(START)
    agent = partner()
    order_id = shop.led.purchase(
        agent,
        tenant_id=shop.tenant_id,
        product=subscription(term_days),
        quantity=quantity,
        unit_price=unit_price,
    )
    elapsed = timedelta(microseconds=elapsed_us)
    shop.clock.set(START + elapsed)

    cancellation = shop.led.cancel(agent, order_id)

    total = unit_price.amount * quantity
    expected = model_credit(total, currency, term_days, elapsed)
    assert cancellation.credit == Money(expected, currency)
    assert cancellation.credit.currency == currency
    assert Decimal(0) <= cancellation.credit.amount <= total
    assert cancellation.order_id == order_id
    assert cancellation.invoice_month == (START + elapsed).strftime("%Y-%m")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    currency=currencies,
    unit_minor=st.integers(min_value=1, max_value=10**9),
    quantity=st.integers(min_value=1, max_value=100_000),
    elapsed_us=st.integers(min_value=0, max_value=WINDOW // timedelta(microseconds=1) - 1),
)
def test_r8_perpetual_credit_is_the_whole_total(
    shop: Fixture, currency: str, unit_minor: int, quantity: int, elapsed_us: int
) -> None:
    unit_price = Money(Decimal(unit_minor).scaleb(-EXPONENTS[currency]), currency)
    quantity = within_total_bound(currency, unit_minor, quantity)
    shop.clock.set(START)
    order_id = shop.led.purchase(
        partner(),
        tenant_id=shop.tenant_id,
        product=product(ProductKind.PERPETUAL),
        quantity=quantity,
        unit_price=unit_price,
    )
    shop.clock.set(START + timedelta(microseconds=elapsed_us))
    credit = shop.led.cancel(partner(), order_id).credit
    assert credit == Money(unit_price.amount * quantity, currency)


# -- (2) Money ---------------------------------------------------------------------------

# Within R15's bound (10^12 major units) in every currency here, JPY included.
minor_amounts = st.integers(min_value=0, max_value=10**12)


def money(currency: str, minor: int) -> Money:
    return Money(Decimal(minor).scaleb(-EXPONENTS[currency]), currency)


@given(currency=currencies, minor=minor_amounts)
def test_r2_money_round_trips_minor_units(currency: str, minor: int) -> None:
    value = money(currency, minor)
    assert value.minor_units == minor
    assert value.currency == currency
    assert Money(str(value.amount), currency) == value
    assert Money(value.amount, currency) == value
    assert value.amount.as_tuple().exponent == -EXPONENTS[currency]


@given(currency=currencies, a=minor_amounts, b=minor_amounts, c=minor_amounts)
def test_r2_money_addition_is_associative_and_commutative(
    currency: str, a: int, b: int, c: int
) -> None:
    x, y, z = money(currency, a), money(currency, b), money(currency, c)
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert (x + y).minor_units == a + b
    assert (x + y) - y == x
    assert x * 3 == x + x + x


@given(
    pair=st.permutations(sorted(EXPONENTS)).map(lambda p: (p[0], p[1])),
    a=minor_amounts,
    b=minor_amounts,
)
def test_r2_mixing_currencies_is_invalid_input(pair: tuple[str, str], a: int, b: int) -> None:
    first, second = money(pair[0], a), money(pair[1], b)
    with pytest.raises(InvalidInput):
        _ = first + second
    with pytest.raises(InvalidInput):
        _ = first - second


@given(
    currency=currencies,
    minor=st.integers(min_value=0, max_value=10**12),
    extra=st.integers(min_value=1, max_value=6),
    as_text=st.booleans(),
)
def test_r2_amounts_finer_than_the_minor_unit_are_invalid(
    currency: str, minor: int, extra: int, as_text: bool
) -> None:
    # A last digit that is not zero makes the amount finer than the minor unit.
    digits = minor * 10 + 1
    amount = Decimal(digits).scaleb(-(EXPONENTS[currency] + extra))
    with pytest.raises(InvalidInput):
        Money(str(amount) if as_text else amount, currency)


@given(currency=currencies, minor=minor_amounts)
def test_r2_equal_amounts_are_equal_money(currency: str, minor: int) -> None:
    value = money(currency, minor)
    padded = Decimal(f"{value.amount}{'000' if EXPONENTS[currency] else '.000'}")
    assert Money(padded, currency) == value
    assert hash(Money(padded, currency)) == hash(value)


# The stateful model of purchases, time, cancellation and refunds is
# `ledger.testing.LedgerStateMachine`; tests/test_state_machine.py runs it on every store.
