"""The cases issue 9 found, one by one: each is now a LedgerError, and writes nothing.

R15: amounts above 10^12 (Money itself, and a purchase's total), lone
surrogates in text, argument errors that escaped as raw Python errors.
R16: the clock is called once at `Ledger.open`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from ledger import Actor, CancellationPolicy, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.errors import ClockError, ConfigurationError, InvalidInput, LedgerError
from ledger.money import MAX_AMOUNT
from tests.support import (
    AGENT,
    ManualClock,
    add_tenant,
    eur,
    footprint,
    product,
    tenant_with_order,
)

SURROGATE = "\ud800"

# -- R15: amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", [10**30, "1e25", "1000000000000.01", -(10**12) - 1, Decimal("1E+13"), "9" * 20]
)
def test_r15_money_above_ten_to_the_twelve_is_refused_by_money_itself(amount: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        Money(amount, "EUR")
    assert raised.value.field == "amount"


def test_r15_money_up_to_ten_to_the_twelve_is_fine_in_every_minor_unit() -> None:
    assert Money(MAX_AMOUNT, "EUR").amount == Decimal("1000000000000.00")
    assert Money("-1000000000000", "JPY").amount == Decimal(-(10**12))
    assert Money("1000000000000.000", "KWD").minor_units == 10**15
    assert Money.from_minor_units(10**14, "EUR") == Money(MAX_AMOUNT, "EUR")
    with pytest.raises(InvalidInput):
        Money.from_minor_units(10**14 + 1, "EUR")


def test_r15_a_purchase_whose_total_is_above_ten_to_the_twelve_is_refused(led: Ledger) -> None:
    tenant_id = add_tenant(led)
    led.catch_up()
    before = footprint(led)
    with pytest.raises(InvalidInput) as raised:
        led.purchase(AGENT, tenant_id, product(), 100_000, Money("1000000000000", "EUR"))
    assert raised.value.field == "quantity"
    with pytest.raises(InvalidInput):
        led.purchase(AGENT, tenant_id, product(), 2, Money("500000000000.01", "EUR"))
    assert footprint(led) == before
    # Exactly 10^12 is a total the views hold.
    order_id = led.purchase(AGENT, tenant_id, product(), 2, Money("500000000000", "EUR"))
    [item] = led.software(AGENT, tenant_id)
    assert (item.order_id, item.total) == (order_id, Money(MAX_AMOUNT, "EUR"))


# -- R15: lone surrogates, in each text field the issue named ----------------------------------


SURROGATE_CALLS: dict[str, Callable[[Ledger, Any, Any], object]] = {
    "customer name": lambda led, t, o: led.add_customer(
        AGENT, Customer(tenant_id=t, domain="c.example", name=SURROGATE, market="NL")
    ),
    "product title": lambda led, t, o: led.purchase(
        AGENT,
        t,
        Product("P", "S", f"Office{SURROGATE}", ProductKind.PERPETUAL),
        1,
        eur("1.00"),
    ),
    "actor user": lambda led, t, o: led.view_key(
        Actor(user=f"a{SURROGATE}", roles={Role.ADMIN_AGENT}, partner_id="P1"), o
    ),
    "refund reason": lambda led, t, o: led.request_refund(
        AGENT,
        o,
        reason=SURROGATE,
        amount=eur("1.00"),
        contact_name="Ann",
        contact_email="ann@p1.example",
        contact_phone="+31 20 123 4567",
    ),
    "idempotency key": lambda led, t, o: led.purchase(
        AGENT, t, product(), 1, eur("1.00"), f"po-{SURROGATE}"
    ),
}


@pytest.mark.parametrize("field", sorted(SURROGATE_CALLS))
def test_r15_a_lone_surrogate_is_invalid_input_and_writes_nothing(
    led: Ledger, clock: ManualClock, field: str
) -> None:
    tenant_id, order_id = tenant_with_order(led)
    clock.advance(timedelta(days=31))
    led.catch_up()
    before = footprint(led)
    with pytest.raises(InvalidInput, match="surrogate"):
        SURROGATE_CALLS[field](led, tenant_id, order_id)
    assert footprint(led) == before
    assert led.software(AGENT, tenant_id)


# -- R15: argument errors that were raw Python errors ------------------------------------------


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: CancellationPolicy(None), InvalidInput),  # type: ignore[arg-type]
        (lambda: CancellationPolicy({ProductKind.PERPETUAL: timedelta.max}), InvalidInput),
        (lambda: Ledger.open(secret_key=123), ConfigurationError),  # type: ignore[arg-type]
        (lambda: Ledger.open(secret_key=b"\xff" * 20), ConfigurationError),
        (lambda: Ledger.open(previous_keys="key"), ConfigurationError),  # type: ignore[arg-type]
        (lambda: Money(1.5, "EUR"), InvalidInput),  # type: ignore[arg-type]
        (lambda: Money("1", ["EUR"]), InvalidInput),  # type: ignore[arg-type]
    ],
)
def test_r15_argument_errors_are_ledger_errors(
    call: Callable[[], object], error: type[LedgerError]
) -> None:
    with pytest.raises(error):
        call()


@pytest.mark.parametrize("target", [None, "", "   ", ".", io.BytesIO(), 42])
def test_r15_an_unusable_export_target_is_invalid_input(led: Ledger, target: Any) -> None:
    tenant_with_order(led)
    with pytest.raises(InvalidInput) as raised:
        led.audit.export_events(target)
    assert raised.value.field == "target"


# -- R16: the clock is checked once, at open -----------------------------------------------------


@pytest.mark.parametrize(
    "returned",
    [
        datetime(2026, 11, 2, 9, 0),  # naive
        datetime.max.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
        datetime(999, 12, 31, tzinfo=UTC),
        "2026-11-02T09:00:00Z",
        1_700_000_000,
        None,
    ],
)
def test_r16_a_clock_that_cannot_give_an_aware_time_is_refused_at_open(
    returned: object, durable_url: str
) -> None:
    with pytest.raises(ClockError):
        Ledger.open(durable_url, clock=lambda: returned)  # type: ignore[arg-type,return-value]
    # Nothing was opened: the store is still new to the next Ledger.
    with Ledger.open(durable_url, clock=ManualClock()) as led:
        assert led._uow.events.recorder.max_notification_id() in (None, 0)


def test_r16_a_clock_that_raises_is_a_clock_error() -> None:
    def broken() -> datetime:
        raise RuntimeError("ntp is down")

    with pytest.raises(ClockError, match="ntp is down"):
        Ledger.open(clock=broken)


def test_r16_a_clock_that_goes_bad_later_fails_the_command_not_the_store(
    led: Ledger, clock: ManualClock
) -> None:
    tenant_id = add_tenant(led)
    led.catch_up()
    before = footprint(led)
    clock.set(datetime(2026, 11, 2))  # type: ignore[arg-type]  # naive from now on
    with pytest.raises(ClockError):
        led.purchase(AGENT, tenant_id, product(), 1, eur("1.00"))
    assert footprint(led) == before
