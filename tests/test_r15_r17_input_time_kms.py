"""R15 (bad input, order of checks), R16 (time) and R17 (KMS migration deadline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from ledger import (
    Actor,
    Customer,
    Ledger,
    Money,
    Product,
    ProductKind,
    Role,
    kms_migration_deadline,
)
from ledger.errors import (
    AccessDenied,
    ClockError,
    InvalidInput,
    LedgerError,
    OrderNotFound,
)
from tests.support import (
    START,
    ManualClock,
    customer,
    customer_admin,
    eur,
    partner,
    product,
    support,
)

AGENT = partner()
AUDITOR = partner("gina", Role.GLOBAL_ADMIN)
SALES = partner("sal", Role.SALES_AGENT)
OTHER_AGENT = partner("otto", partner_id="P2")
OTHER_SALES = partner("osa", Role.SALES_AGENT, partner_id="P2")
WINDOW = timedelta(days=30)
NAIVE = datetime(2026, 11, 2, 9, 0)


@dataclass
class World:
    tid: UUID
    order_id: UUID  # a perpetual order, bought at START
    closed_id: UUID  # a perpetual order whose window closed (refundable)
    refund_id: UUID  # a pending refund request on closed_id


def _world(led: Ledger, clock: ManualClock) -> World:
    c = customer()
    led.add_customer(AGENT, c)
    clock.set(START - WINDOW - timedelta(days=5))
    closed_id = led.purchase(
        AGENT, tenant_id=c.tenant_id, product=product(), quantity=1, unit_price=eur("80.00")
    )
    clock.set(START)
    order_id = led.purchase(
        AGENT, tenant_id=c.tenant_id, product=product(), quantity=1, unit_price=eur("100.00")
    )
    refund_id = led.request_refund(
        AGENT,
        closed_id,
        reason="Never deployed",
        amount=eur("80.00"),
        contact_name="Ann",
        contact_email="ann@p1.example",
        contact_phone="+31 20 555 0101",
    )
    clock.advance(timedelta(hours=1))
    return World(c.tenant_id, order_id, closed_id, refund_id)


def _snapshot(led: Ledger, tid: UUID) -> tuple[Any, ...]:
    return (
        led.software(AGENT, tid),
        led.activity_log(AUDITOR, start=date(2000, 1, 1), end=date(2100, 1, 1)),
        led.monthly_credits(AUDITOR, "2026-10").lines,
        led.monthly_credits(AUDITOR, "2026-11").lines,
        led.refunds(AGENT),
        led.refunds(support()),
    )


def _purchase(led: Ledger, w: World, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "tenant_id": w.tid,
        "product": product(),
        "quantity": 1,
        "unit_price": eur("10.00"),
    }
    kwargs.update(overrides)
    actor = kwargs.pop("actor", AGENT)
    return led.purchase(actor, **kwargs)


def _link(led: Ledger, w: World, call: str, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {"version": "2024", "language": "en-US", "bitness": 64}
    kwargs.update(overrides)
    actor = kwargs.pop("actor", AGENT)
    order_id = kwargs.pop("order_id", w.order_id)
    return getattr(led, call)(actor, order_id, **kwargs)


def _refund(led: Ledger, w: World, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "reason": "Never deployed",
        "amount": eur("10.00"),
        "contact_name": "Ann",
        "contact_email": "ann@p1.example",
        "contact_phone": "+31 20 555 0101",
    }
    kwargs.update(overrides)
    actor = kwargs.pop("actor", AGENT)
    order_id = kwargs.pop("order_id", w.closed_id)
    return led.request_refund(actor, order_id, **kwargs)


def _resolve(led: Ledger, w: World, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {"approve": True, "amount": None}
    kwargs.update(overrides)
    refund_id = kwargs.pop("refund_id", w.refund_id)
    return led.resolve_refund(support(), refund_id, **kwargs)


Command = Callable[[Ledger, World], object]


def _link_command(call: str, overrides: dict[str, Any]) -> Command:
    def command(led: Ledger, w: World) -> object:
        return _link(led, w, call, **overrides)

    return command


# (id, command, field it must name)
BAD_COMMANDS: list[tuple[str, Command, str]] = [
    # purchase
    ("purchase-tenant-malformed", lambda led, w: _purchase(led, w, tenant_id="nope"), "tenant_id"),
    (
        "purchase-tenant-almost-uuid",
        lambda led, w: _purchase(led, w, tenant_id="6d009900-229a-4ed3-8000-00000000000g"),
        "tenant_id",
    ),
    ("purchase-tenant-int", lambda led, w: _purchase(led, w, tenant_id=12345), "tenant_id"),
    ("purchase-tenant-none", lambda led, w: _purchase(led, w, tenant_id=None), "tenant_id"),
    ("purchase-product-str", lambda led, w: _purchase(led, w, product="Office"), "product"),
    ("purchase-product-none", lambda led, w: _purchase(led, w, product=None), "product"),
    ("purchase-quantity-float", lambda led, w: _purchase(led, w, quantity=2.0), "quantity"),
    ("purchase-quantity-bool", lambda led, w: _purchase(led, w, quantity=True), "quantity"),
    ("purchase-quantity-zero", lambda led, w: _purchase(led, w, quantity=0), "quantity"),
    ("purchase-price-float", lambda led, w: _purchase(led, w, unit_price=10.0), "unit_price"),
    (
        "purchase-price-decimal",
        lambda led, w: _purchase(led, w, unit_price=Decimal("10.00")),
        "unit_price",
    ),
    ("purchase-price-str", lambda led, w: _purchase(led, w, unit_price="10.00"), "unit_price"),
    (
        "purchase-price-zero",
        lambda led, w: _purchase(led, w, unit_price=eur("0.00")),
        "unit_price",
    ),
    ("purchase-activation-none", lambda led, w: _purchase(led, w, activation=None), "activation"),
    (
        "purchase-activation-control",
        lambda led, w: _purchase(led, w, activation="MAK\x00"),
        "activation",
    ),
    (
        "purchase-key-empty",
        lambda led, w: _purchase(led, w, idempotency_key=""),
        "idempotency_key",
    ),
    (
        "purchase-key-257",
        lambda led, w: _purchase(led, w, idempotency_key="k" * 257),
        "idempotency_key",
    ),
    (
        "purchase-key-newline",
        lambda led, w: _purchase(led, w, idempotency_key="po\n1"),
        "idempotency_key",
    ),
    (
        "purchase-key-int",
        lambda led, w: _purchase(led, w, idempotency_key=4711),
        "idempotency_key",
    ),
    ("purchase-actor-str", lambda led, w: _purchase(led, w, actor="ann"), "actor"),
    # add_customer
    ("add-customer-str", lambda led, w: led.add_customer(AGENT, "contoso"), "customer"),
    ("add-customer-none", lambda led, w: led.add_customer(AGENT, None), "customer"),
    ("add-customer-actor", lambda led, w: led.add_customer(None, customer()), "actor"),
    # view_key / cancel / cancellation_status
    ("view-key-malformed", lambda led, w: led.view_key(AGENT, "not-a-uuid"), "order_id"),
    ("view-key-int", lambda led, w: led.view_key(AGENT, 42), "order_id"),
    ("view-key-empty", lambda led, w: led.view_key(AGENT, ""), "order_id"),
    ("view-key-actor", lambda led, w: led.view_key({"user": "ann"}, w.order_id), "actor"),
    ("cancel-malformed", lambda led, w: led.cancel(AGENT, "zzz"), "order_id"),
    ("cancel-none", lambda led, w: led.cancel(AGENT, None), "order_id"),
    ("status-malformed", lambda led, w: led.cancellation_status(AGENT, "x" * 300), "order_id"),
    ("status-bytes", lambda led, w: led.cancellation_status(AGENT, b"1234"), "order_id"),
    # download / copy_link
    *[
        (f"{call}-{name}", _link_command(call, kw), fld)
        for call in ("download", "copy_link")
        for name, kw, fld in [
            ("version-empty", {"version": ""}, "version"),
            ("version-int", {"version": 2024}, "version"),
            ("version-long", {"version": "2" * 257}, "version"),
            ("language-control", {"language": "en\x00US"}, "language"),
            ("language-long", {"language": "e" * 257}, "language"),
            ("language-none", {"language": None}, "language"),
            ("bitness-str", {"bitness": "64"}, "bitness"),
            ("bitness-float", {"bitness": 64.0}, "bitness"),
            ("bitness-bool", {"bitness": True}, "bitness"),
            ("order-malformed", {"order_id": "nope"}, "order_id"),
        ]
    ],
    # software / activity_log / monthly_credits
    ("software-tenant", lambda led, w: led.software(AGENT, "nope"), "tenant_id"),
    (
        "log-naive-start",
        lambda led, w: led.activity_log(AUDITOR, start=NAIVE, end=date(2026, 12, 1)),
        "start",
    ),
    (
        "log-str-end",
        lambda led, w: led.activity_log(AUDITOR, start=date(2026, 11, 1), end="2026-11-30"),
        "end",
    ),
    ("credits-month-13", lambda led, w: led.monthly_credits(AUDITOR, "2026-13"), "month"),
    ("credits-month-short", lambda led, w: led.monthly_credits(AUDITOR, "2026-1"), "month"),
    ("credits-month-day", lambda led, w: led.monthly_credits(AUDITOR, "2026-11-01"), "month"),
    ("credits-month-int", lambda led, w: led.monthly_credits(AUDITOR, 202611), "month"),
    ("credits-month-empty", lambda led, w: led.monthly_credits(AUDITOR, ""), "month"),
    # request_refund
    ("refund-amount-float", lambda led, w: _refund(led, w, amount=10.0), "amount"),
    ("refund-amount-zero", lambda led, w: _refund(led, w, amount=eur("0.00")), "amount"),
    (
        "refund-amount-currency",
        lambda led, w: _refund(led, w, amount=Money("10.00", "USD")),
        "amount",
    ),
    ("refund-reason-empty", lambda led, w: _refund(led, w, reason=""), "reason"),
    ("refund-reason-long", lambda led, w: _refund(led, w, reason="r" * 257), "reason"),
    (
        "refund-email-malformed",
        lambda led, w: _refund(led, w, contact_email="ann.example"),
        "contact_email",
    ),
    (
        "refund-phone-control",
        lambda led, w: _refund(led, w, contact_phone="+31\n20"),
        "contact_phone",
    ),
    ("refund-name-empty", lambda led, w: _refund(led, w, contact_name=""), "contact_name"),
    (
        "refund-attachments-str",
        lambda led, w: _refund(led, w, attachments="invoice.pdf"),
        "attachments",
    ),
    (
        "refund-attachments-control",
        lambda led, w: _refund(led, w, attachments=("inv\x07.pdf",)),
        "attachments",
    ),
    ("refund-tenant-malformed", lambda led, w: _refund(led, w, tenant_id="nope"), "tenant_id"),
    ("refund-order-malformed", lambda led, w: _refund(led, w, order_id="nope"), "order_id"),
    # resolve_refund
    ("resolve-id-malformed", lambda led, w: _resolve(led, w, refund_id="nope"), "refund_id"),
    ("resolve-approve-str", lambda led, w: _resolve(led, w, approve="yes"), "approve"),
    ("resolve-approve-int", lambda led, w: _resolve(led, w, approve=1), "approve"),
    ("resolve-amount-float", lambda led, w: _resolve(led, w, amount=5.0), "amount"),
]


@pytest.mark.parametrize(
    ("command", "field"),
    [pytest.param(cmd, fld, id=name) for name, cmd, fld in BAD_COMMANDS],
)
def test_r15_bad_input_is_invalid_input_naming_the_field_and_writes_nothing(
    led: Ledger, clock: ManualClock, command: Command, field: str
) -> None:
    w = _world(led, clock)
    before = _snapshot(led, w.tid)
    with pytest.raises(InvalidInput) as info:
        command(led, w)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, LedgerError)
    assert _snapshot(led, w.tid) == before


def test_r15_strings_of_exactly_256_characters_are_accepted(
    led: Ledger, clock: ManualClock
) -> None:
    w = _world(led, clock)
    first = _purchase(led, w, idempotency_key="k" * 256)
    assert _purchase(led, w, idempotency_key="k" * 256) == first
    c = Customer(tenant_id=uuid4(), domain="d" * 256, name="n" * 256, market="NL")
    led.add_customer(AGENT, c)
    assert led.software(AGENT, c.tenant_id) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tenant_id": "nope"}, "tenant_id"),
        ({"tenant_id": 7}, "tenant_id"),
        ({"domain": ""}, "domain"),
        ({"domain": "d" * 257}, "domain"),
        ({"domain": 42}, "domain"),
        ({"name": "Con\ttoso"}, "name"),
        ({"name": "Contoso\x85"}, "name"),
        ({"name": None}, "name"),
        ({"market": "QQ"}, "market"),
        ({"market": "nl"}, "market"),
    ],
)
def test_r15_customer_values_are_validated(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "tenant_id": uuid4(),
        "domain": "contoso.example",
        "name": "Contoso",
        "market": "NL",
    }
    values.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        Customer(**values)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user": ""}, "user"),
        ({"user": "u" * 257}, "user"),
        ({"user": "a\x1bb"}, "user"),
        ({"user": None}, "user"),
        ({"roles": {"ADMIN"}}, "roles"),
        ({"roles": "ADMIN_AGENT"}, "roles"),
        ({"partner_id": ""}, "partner_id"),
        ({"partner_id": "P\x001"}, "partner_id"),
        ({"partner_id": None, "tenant_id": "nope"}, "tenant_id"),
        ({"tenant_id": uuid4()}, "tenant_id"),  # both partner_id and tenant_id
    ],
)
def test_r15_actor_values_are_validated(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"user": "ann", "roles": {Role.ADMIN_AGENT}, "partner_id": "P1"}
    values.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        Actor(**values)
    assert info.value.field == field


def test_r15_actor_without_partner_or_tenant_must_be_support() -> None:
    with pytest.raises(InvalidInput):
        Actor(user="x", roles={Role.ADMIN_AGENT})
    assert support().roles == frozenset({Role.SUPPORT})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"product_id": ""}, "product_id"),
        ({"sku_id": "s" * 257}, "sku_id"),
        ({"title": "Office\x7f"}, "title"),
        ({"kind": "BOGUS"}, "kind"),
        ({"kind": None}, "kind"),
        ({"versions": (2024,)}, "versions"),
        ({"languages": "en-US"}, "languages"),
        ({"languages": ("",)}, "languages"),
        ({"bitness": (16,)}, "bitness"),
        ({"bitness": ("64",)}, "bitness"),
        ({"term_days": 0}, "term_days"),
        ({"term_days": 30.0}, "term_days"),
    ],
)
def test_r15_product_values_are_validated(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "product_id": "PRD-1",
        "sku_id": "0001",
        "title": "Office",
        "kind": ProductKind.PERPETUAL,
        "term_days": None,
        "versions": ("2024",),
        "languages": ("en-US",),
        "bitness": (64,),
    }
    values.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        Product(**values)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        (1.5, "EUR", "amount"),
        ("1.5.0", "EUR", "amount"),
        ("Infinity", "EUR", "amount"),
        ("NaN", "EUR", "amount"),
        (None, "EUR", "amount"),
        ("1.00", "EURO", "currency"),
        ("1.00", "XXX", "currency"),
    ],
)
def test_r15_money_values_are_validated(amount: Any, currency: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Money(amount, currency)
    assert info.value.field == field


# ------------------------------------------------------ R15: the order of checks


def test_r15_input_is_checked_before_visibility(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    before = _snapshot(led, w.tid)
    with pytest.raises(InvalidInput) as info:
        _purchase(led, w, actor=OTHER_AGENT, quantity=0)
    assert info.value.field == "quantity"
    with pytest.raises(InvalidInput) as info:
        _link(led, w, "download", actor=OTHER_AGENT, bitness="64")
    assert info.value.field == "bitness"
    with pytest.raises(InvalidInput) as info:
        _refund(led, w, actor=OTHER_AGENT, amount=10.0)
    assert info.value.field == "amount"
    with pytest.raises(InvalidInput) as info:
        led.software(customer_admin(uuid4()), "nope")
    assert info.value.field == "tenant_id"
    assert _snapshot(led, w.tid) == before


def test_r15_input_is_checked_before_role(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    before = _snapshot(led, w.tid)
    with pytest.raises(InvalidInput) as info:
        _purchase(led, w, actor=SALES, unit_price=10.0)
    assert info.value.field == "unit_price"
    with pytest.raises(InvalidInput) as info:
        _refund(led, w, actor=SALES, contact_email="nope")
    assert info.value.field == "contact_email"
    with pytest.raises(InvalidInput) as info:
        led.resolve_refund(AGENT, w.refund_id, approve="yes")
    assert info.value.field == "approve"
    assert _snapshot(led, w.tid) == before


def test_r15_input_is_checked_before_rules(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    before = _snapshot(led, w.tid)
    with pytest.raises(InvalidInput) as info:
        _purchase(led, w, activation="KMS", quantity=0)
    assert info.value.field == "quantity"
    cn = customer("CN")
    led.add_customer(AGENT, cn)
    with pytest.raises(InvalidInput) as info:
        _purchase(
            led,
            w,
            tenant_id=cn.tenant_id,
            product=product(ProductKind.AZURE_RESERVATION),
            unit_price=10.0,
        )
    assert info.value.field == "unit_price"
    assert _snapshot(led, w.tid) == before


def test_r15_visibility_is_checked_before_role(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    before = _snapshot(led, w.tid)
    with pytest.raises(OrderNotFound):
        led.cancel(OTHER_SALES, w.order_id)
    with pytest.raises(OrderNotFound):
        led.view_key(OTHER_SALES, w.order_id)
    with pytest.raises(OrderNotFound):
        _purchase(led, w, actor=OTHER_SALES)
    with pytest.raises(OrderNotFound):
        _refund(led, w, actor=OTHER_SALES)
    with pytest.raises(OrderNotFound):
        led.cancel(customer_admin(uuid4()), w.order_id)
    assert _snapshot(led, w.tid) == before


def test_r15_visibility_is_checked_before_rules(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    led.cancel(AGENT, w.order_id)
    before = _snapshot(led, w.tid)
    with pytest.raises(OrderNotFound):
        led.cancel(OTHER_AGENT, w.order_id)  # not AlreadyCancelled
    with pytest.raises(OrderNotFound):
        led.view_key(OTHER_AGENT, w.order_id)  # not KeyRevoked
    with pytest.raises(OrderNotFound):
        led.cancel(OTHER_AGENT, w.closed_id)  # not CancellationWindowClosed
    with pytest.raises(OrderNotFound):
        _purchase(led, w, actor=OTHER_AGENT, activation="KMS")  # not KmsNotAllowed
    assert _snapshot(led, w.tid) == before


def test_r15_role_is_checked_before_rules(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    plan = led.purchase(
        AGENT,
        tenant_id=w.tid,
        product=product(ProductKind.SOFTWARE_PLAN),
        quantity=1,
        unit_price=eur("5.00"),
    )
    cancelled = _purchase(led, w)
    led.cancel(AGENT, cancelled)
    cn = customer("CN")
    led.add_customer(AGENT, cn)
    before = _snapshot(led, w.tid)
    with pytest.raises(AccessDenied):
        led.cancel(SALES, plan)  # not NotCancellable
    with pytest.raises(AccessDenied):
        led.cancel(SALES, w.closed_id)  # not CancellationWindowClosed
    with pytest.raises(AccessDenied):
        led.cancel(customer_admin(w.tid), cancelled)
    with pytest.raises(AccessDenied):
        led.view_key(AUDITOR, cancelled)  # not KeyRevoked
    with pytest.raises(AccessDenied):
        _purchase(led, w, actor=SALES, activation="KMS")  # not KmsNotAllowed
    with pytest.raises(AccessDenied):
        _purchase(
            led,
            w,
            actor=SALES,
            tenant_id=cn.tenant_id,
            product=product(ProductKind.AZURE_RESERVATION),
        )  # not MarketUnavailable
    with pytest.raises(AccessDenied):
        _refund(led, w, actor=SALES, order_id=w.order_id)  # not RefundNotPossible
    assert _snapshot(led, w.tid) == before


# --------------------------------------------------------------------------- R16


def _is_utc(moment: object) -> bool:
    return isinstance(moment, datetime) and moment.utcoffset() == timedelta(0)


def test_r16_every_returned_timestamp_is_aware_utc(led: Ledger, clock: ManualClock) -> None:
    w = _world(led, clock)
    tid = w.tid
    stamps: list[object] = []
    stamps.append(
        led.download(AGENT, w.order_id, version="2024", language="en-US", bitness=64).expires_at
    )
    stamps.append(
        led.copy_link(
            customer_admin(tid), w.order_id, version="2024", language="en-US", bitness=32
        ).expires_at
    )
    led.view_key(AGENT, w.order_id)
    status = led.cancellation_status(AGENT, w.order_id)
    stamps.append(status.cancellable_until)
    clock.advance(timedelta(days=1))
    c = led.cancel(AGENT, w.order_id)
    stamps.append(c.cancelled_at)
    for item in led.software(AGENT, tid):
        stamps += [item.purchased_at, item.cancellable_until]
    for entry in led.activity_log(AUDITOR, start=date(2026, 1, 1), end=date(2027, 1, 1)):
        stamps.append(entry.at)
    for line in led.monthly_credits(AUDITOR, "2026-11").lines:
        stamps.append(line.issued_at)
    resolved = led.resolve_refund(support(), w.refund_id, approve=True)
    stamps += [resolved.requested_at, resolved.resolved_at]
    for refund in led.refunds(AGENT):
        stamps += [refund.requested_at, refund.resolved_at]
    stamps.append(kms_migration_deadline(START))
    assert len(stamps) >= 15
    assert all(_is_utc(s) for s in stamps), stamps


@pytest.mark.parametrize(
    "tz",
    [
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-8)),
        ZoneInfo("Europe/Amsterdam"),
        ZoneInfo("America/New_York"),
    ],
    ids=["+05:30", "-08:00", "Amsterdam", "New_York"],
)
def test_r16_an_aware_non_utc_clock_is_converted_to_utc(
    led: Ledger, clock: ManualClock, tz: Any
) -> None:
    clock.set(START.astimezone(tz))
    c = customer()
    led.add_customer(AGENT, c)
    order_id = led.purchase(
        AGENT, tenant_id=c.tenant_id, product=product(), quantity=1, unit_price=eur("1.00")
    )
    link = led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
    [item] = led.software(AGENT, c.tenant_id)
    assert item.purchased_at == START
    assert item.purchased_at.utcoffset() == timedelta(0)
    assert item.cancellable_until == START + WINDOW
    assert item.cancellable_until is not None
    assert item.cancellable_until.utcoffset() == timedelta(0)
    assert link.expires_at == START + timedelta(days=14)
    assert link.expires_at.utcoffset() == timedelta(0)
    [entry] = led.activity_log(AUDITOR, start=START.date(), end=START.date())
    assert entry.at == START
    assert entry.at.utcoffset() == timedelta(0)


def test_r16_non_utc_clock_survives_reopening_the_store(store_url: str) -> None:
    clock = ManualClock(START.astimezone(timezone(timedelta(hours=-3))))
    c = customer()
    with Ledger.open(store_url, clock=clock) as led:
        led.add_customer(AGENT, c)
        led.purchase(
            AGENT, tenant_id=c.tenant_id, product=product(), quantity=1, unit_price=eur("1.00")
        )
        [item] = led.software(AGENT, c.tenant_id)
    assert item.purchased_at == START
    assert _is_utc(item.purchased_at)
    if store_url.startswith("memory"):
        return
    with Ledger.open(store_url, clock=ManualClock()) as again:
        [item] = again.software(AGENT, c.tenant_id)
    assert item.purchased_at == START
    assert _is_utc(item.purchased_at)


@pytest.mark.parametrize(
    "bad_now",
    [NAIVE, "2026-11-02T09:00:00Z", date(2026, 11, 2), 1793610000, None],
    ids=["naive", "str", "date", "int", "none"],
)
def test_r16_a_clock_that_does_not_return_an_aware_datetime_is_refused(
    led: Ledger, clock: ManualClock, bad_now: object
) -> None:
    w = _world(led, clock)
    before = _snapshot(led, w.tid)
    good_now = clock.now
    clock.now = bad_now  # type: ignore[assignment]
    with pytest.raises(ClockError) as info:
        _purchase(led, w)
    assert isinstance(info.value, LedgerError)
    with pytest.raises(ClockError):
        led.view_key(AGENT, w.order_id)
    with pytest.raises(ClockError):
        led.download(AGENT, w.order_id, version="2024", language="en-US", bitness=64)
    with pytest.raises(ClockError):
        led.cancel(AGENT, w.order_id)
    clock.now = good_now
    assert _snapshot(led, w.tid) == before
    assert led.cancellation_status(AGENT, w.order_id).cancellable is True


# --------------------------------------------------------------------------- R17


def test_r17_kms_migration_deadline_is_activation_plus_180_days() -> None:
    deadline = kms_migration_deadline(START)
    assert deadline == START + timedelta(days=180)
    assert deadline == datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
    assert _is_utc(deadline)


@pytest.mark.parametrize(
    "activated_at",
    [
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2027, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # crosses 29 February 2028
        datetime(2026, 11, 2, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam")),  # crosses DST
        datetime(2026, 10, 1, 8, 0, tzinfo=ZoneInfo("America/New_York")),
    ],
)
def test_r17_deadline_is_exactly_180_days_of_elapsed_time_in_utc(activated_at: datetime) -> None:
    deadline = kms_migration_deadline(activated_at)
    assert _is_utc(deadline)
    assert deadline == activated_at.astimezone(UTC) + timedelta(days=180)
    assert deadline - activated_at == timedelta(days=180)


def test_r17_examples_computed_by_hand() -> None:
    assert kms_migration_deadline(datetime(2027, 12, 31, 23, 0, tzinfo=UTC)) == datetime(
        2028, 6, 28, 23, 0, tzinfo=UTC
    )
    assert kms_migration_deadline(
        datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    ) == datetime(2026, 8, 28, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "activated_at",
    [NAIVE, date(2026, 11, 2), "2026-11-02T09:00:00Z", None, 1793610000],
    ids=["naive", "date", "str", "none", "int"],
)
def test_r17_naive_or_non_datetime_activation_is_invalid_input(activated_at: object) -> None:
    with pytest.raises(InvalidInput) as info:
        kms_migration_deadline(activated_at)  # type: ignore[arg-type]
    assert info.value.field == "activated_at"
