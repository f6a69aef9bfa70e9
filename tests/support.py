"""Shared test scaffolding: ready-made values, and the clock from `ledger.testing`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import structlog

from ledger import Actor, CancellationPolicy, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.testing import START, ManualClock

__all__ = [
    "AGENT",
    "START",
    "HalfCredit",
    "ManualClock",
    "Overpaying",
    "QUIET",
    "add_tenant",
    "buy",
    "customer",
    "customer_admin",
    "eur",
    "footprint",
    "partner",
    "product",
    "support",
    "tenant_with_order",
]


#: A logger that drops everything: for tests that make thousands of calls.
QUIET = structlog.wrap_logger(
    structlog.PrintLogger(), wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL)
)


def partner(user: str = "ann", *roles: Role, partner_id: str = "P1") -> Actor:
    return Actor(user=user, roles=set(roles or {Role.ADMIN_AGENT}), partner_id=partner_id)


def customer_admin(tenant_id: UUID, user: str = "carol") -> Actor:
    return Actor(user=user, roles={Role.GLOBAL_ADMIN}, tenant_id=tenant_id)


def support(user: str = "sam") -> Actor:
    return Actor(user=user, roles={Role.SUPPORT})


def vendor_auditor(user: str = "vera") -> Actor:
    """R21: the vendor's auditor, every partner's records, read-only."""
    return Actor(user=user, roles={Role.AUDITOR})


#: The command line's options for `vendor_auditor` and for a partner's GLOBAL_ADMIN.
VERA = ("--as", "vera", "--role", "AUDITOR")
PARTNER_GLOBAL_ADMIN = ("--as", "gail", "--role", "GLOBAL_ADMIN", "--partner", "P1")


def customer(market: str = "NL", tenant_id: UUID | None = None) -> Customer:
    tid = tenant_id or uuid4()
    return Customer(tenant_id=tid, domain=f"t{tid.hex[:8]}.example", name="Contoso", market=market)


def product(kind: ProductKind = ProductKind.PERPETUAL, term_days: int | None = None) -> Product:
    if kind is ProductKind.SUBSCRIPTION and term_days is None:
        term_days = 365
    downloads = kind in (ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION)
    return Product(
        product_id=f"PRD-{kind.value}",
        sku_id="0001",
        title=f"Office {kind.value.title()}",
        kind=kind,
        term_days=term_days,
        versions=("2024",) if downloads else (),
        languages=("en-US", "nl-NL") if downloads else (),
        bitness=(32, 64) if downloads else (),
    )


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


#: Partner P1's admin agent: the actor who buys, views keys and cancels.
AGENT = partner()


def footprint(led: Ledger) -> tuple[int, ...]:
    """Everything a call could have written: events, every view table, the key table.

    Tests compare it before and after a refused call (R15: nothing is written).
    """
    from ledger.projections.sql import TABLES  # noqa: PLC0415 - only the raw checks need it

    views = led._views
    counts = [
        int(views.query(f"SELECT COUNT(*) AS n FROM {{{table}}}", ())[0]["n"]) for table in TABLES
    ]
    head = led._uow.events.recorder.max_notification_id() or 0
    return (head, *counts, led._parts.keyring.count())


def add_tenant(led: Ledger, market: str = "NL", *, actor: Actor = AGENT) -> UUID:
    """Register a fresh customer in ``market`` for the actor's partner."""
    new = customer(market)
    led.add_customer(actor, new)
    return new.tenant_id


def buy(
    led: Ledger,
    tenant_id: UUID,
    kind: ProductKind = ProductKind.PERPETUAL,
    *,
    actor: Actor = AGENT,
    quantity: int = 1,
    unit_price: Money | None = None,
    term_days: int | None = None,
) -> UUID:
    """Buy one `product` of ``kind`` (100.00 EUR unless given) for the tenant."""
    return led.purchase(
        actor,
        tenant_id=tenant_id,
        product=product(kind, term_days),
        quantity=quantity,
        unit_price=unit_price or eur("100.00"),
    )


def tenant_with_order(
    led: Ledger,
    kind: ProductKind = ProductKind.PERPETUAL,
    *,
    actor: Actor = AGENT,
    market: str = "NL",
    quantity: int = 1,
    unit_price: Money | None = None,
    term_days: int | None = None,
) -> tuple[UUID, UUID]:
    """A fresh customer with one order: ``(tenant_id, order_id)``."""
    tenant_id = add_tenant(led, market, actor=actor)
    order_id = buy(
        led,
        tenant_id,
        kind,
        actor=actor,
        quantity=quantity,
        unit_price=unit_price,
        term_days=term_days,
    )
    return tenant_id, order_id


# Programmes with a credit rule of their own (CancellationPolicy.credit).


@dataclass(frozen=True)
class HalfCredit(CancellationPolicy):
    """A programme that credits half of any cancelled order."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        return total.prorate(1, 2)


@dataclass(frozen=True)
class Overpaying(CancellationPolicy):
    """A broken programme: it credits twice the order."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        return total * 2
