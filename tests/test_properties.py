"""Property tests: R8 credit arithmetic, Money, and a stateful model of cancellation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind
from ledger.errors import (
    AlreadyCancelled,
    CancellationWindowClosed,
    InvalidInput,
    KeyRevoked,
    NotCancellable,
)
from tests.support import START, ManualClock, customer, customer_admin, partner, product

DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
EXPONENTS = {"EUR": 2, "JPY": 0, "KWD": 3}
currencies = st.sampled_from(sorted(EXPONENTS))


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-EXPONENTS[currency])


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

minor_amounts = st.integers(min_value=0, max_value=10**15)


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


# -- (3) a stateful model of purchases, time and cancellation -----------------------------


@dataclass
class ModelOrder:
    kind: ProductKind
    total: Money
    term_days: int | None
    purchased_at: datetime
    cancelled: bool = False
    credit: Money | None = None
    credited_month: str | None = None
    key: str | None = None


KINDS = [ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION, ProductKind.SOFTWARE_PLAN]


class LedgerMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.led = Ledger.open(clock=self.clock)
        self.agent: Actor = partner()
        cust: Customer = customer()
        self.tenant_id = cust.tenant_id
        self.led.add_customer(self.agent, cust)
        self.model: dict[UUID, ModelOrder] = {}

    def teardown(self) -> None:
        self.led.close()

    @rule(
        target=orders,
        kind=st.sampled_from(KINDS),
        term_days=st.integers(min_value=1, max_value=400),
        quantity=st.integers(min_value=1, max_value=50),
        unit_cents=st.integers(min_value=1, max_value=1_000_000),
    )
    def purchase(self, kind: ProductKind, term_days: int, quantity: int, unit_cents: int) -> UUID:
        term = term_days if kind is ProductKind.SUBSCRIPTION else None
        unit_price = money("EUR", unit_cents)
        order_id = self.led.purchase(
            self.agent,
            tenant_id=self.tenant_id,
            product=product(kind, term),
            quantity=quantity,
            unit_price=unit_price,
        )
        assert order_id not in self.model
        self.model[order_id] = ModelOrder(kind, unit_price * quantity, term, self.clock.now)
        return order_id

    @rule(microseconds=st.integers(min_value=1, max_value=40 * 86_400 * 10**6))
    def advance_clock(self, microseconds: int) -> None:
        self.clock.advance(timedelta(microseconds=microseconds))

    @rule(order_id=orders)
    def cancel(self, order_id: UUID) -> None:
        order = self.model[order_id]
        now = self.clock.now
        expected: type[Exception] | None
        if order.cancelled:
            expected = AlreadyCancelled
        elif order.kind is ProductKind.SOFTWARE_PLAN:
            expected = NotCancellable
        elif now >= order.purchased_at + WINDOW:
            expected = CancellationWindowClosed
        else:
            expected = None

        if expected is not None:
            with pytest.raises(expected):
                self.led.cancel(self.agent, order_id)
            return
        cancellation = self.led.cancel(self.agent, order_id)
        if order.kind is ProductKind.PERPETUAL:
            credit = order.total
        else:
            assert order.term_days is not None
            amount = model_credit(
                order.total.amount, "EUR", order.term_days, now - order.purchased_at
            )
            credit = Money(amount, "EUR")
        assert cancellation.credit == credit
        assert cancellation.invoice_month == now.strftime("%Y-%m")
        order.cancelled = True
        order.credit = credit
        order.credited_month = cancellation.invoice_month

    @rule(order_id=orders, as_customer=st.booleans())
    def view_key(self, order_id: UUID, as_customer: bool) -> None:
        order = self.model[order_id]
        actor = customer_admin(self.tenant_id) if as_customer else self.agent
        if order.cancelled:
            with pytest.raises(KeyRevoked):
                self.led.view_key(actor, order_id)
            return
        key = self.led.view_key(actor, order_id)
        assert key
        if order.key is None:
            order.key = key
        assert key == order.key, "the licence key of an order never changes"

    @invariant()
    def software_list_matches_the_model(self) -> None:
        items = {item.order_id: item for item in self.led.software(self.agent, self.tenant_id)}
        assert set(items) == set(self.model)
        for order_id, order in self.model.items():
            item = items[order_id]
            assert item.status == ("cancelled" if order.cancelled else "active")
            assert item.key_available is not order.cancelled
            assert item.total == order.total
            assert item.credited <= item.total
            assert item.credited == (order.credit or Money("0", "EUR"))

    @invariant()
    def credits_never_exceed_totals_and_come_once(self) -> None:
        months = {o.credited_month for o in self.model.values() if o.credited_month}
        lines = [
            line
            for month in sorted(months)
            for line in self.led.monthly_credits(self.agent, month).lines
        ]
        per_order = Counter(line.order_id for line in lines)
        for order_id, count in per_order.items():
            order = self.model[order_id]
            assert order.cancelled, "only cancelled orders are credited here"
            assert count <= 1, f"order {order_id} credited {count} times"
            credited = sum((ln.amount for ln in lines if ln.order_id == order_id), Money(0, "EUR"))
            assert credited <= order.total
            assert credited == order.credit
        for order_id, order in self.model.items():
            if order.credit is not None and order.credit.amount > 0:
                assert per_order[order_id] == 1


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestR6R8LedgerMachine = LedgerMachine.TestCase
