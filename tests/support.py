"""Shared test scaffolding: ready-made values, and the clock from `ledger.testing`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from ledger import Actor, CancellationPolicy, Customer, Money, Product, ProductKind, Role
from ledger.testing import START, ManualClock

__all__ = [
    "START",
    "HalfCredit",
    "ManualClock",
    "Overpaying",
    "customer",
    "customer_admin",
    "eur",
    "partner",
    "product",
    "support",
]


def partner(user: str = "ann", *roles: Role, partner_id: str = "P1") -> Actor:
    return Actor(user=user, roles=set(roles or {Role.ADMIN_AGENT}), partner_id=partner_id)


def customer_admin(tenant_id: UUID, user: str = "carol") -> Actor:
    return Actor(user=user, roles={Role.GLOBAL_ADMIN}, tenant_id=tenant_id)


def support(user: str = "sam") -> Actor:
    return Actor(user=user, roles={Role.SUPPORT})


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
