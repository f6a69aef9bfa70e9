"""The commands the testing tools drive a ledger with, as plain frozen values.

Orders and refund requests are named by an alias (``"o1"``) because their ids
are only known once the ledger has made them; `Driver` maps aliases to ids.
An alias that never resolved (its purchase failed) stands for an id the
ledger never issued, so the command meets ``OrderNotFound`` like any unknown id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from ledger.money import Money
from ledger.values import Actor, Customer, Product

__all__ = [
    "AddCustomer",
    "AskCancellationStatus",
    "Cancel",
    "Command",
    "Download",
    "Purchase",
    "RequestRefund",
    "ResolveRefund",
    "ViewKey",
    "Wait",
]


@dataclass(frozen=True)
class AddCustomer:
    actor: Actor
    customer: Customer


@dataclass(frozen=True)
class Purchase:
    actor: Actor
    tenant_id: UUID
    product: Product
    quantity: int
    unit_price: Money
    order: str
    idempotency_key: str | None = None
    activation: str = "MAK"


@dataclass(frozen=True)
class Wait:
    """Move the clock forward (the only command that records nothing by design)."""

    delta: timedelta


@dataclass(frozen=True)
class ViewKey:
    actor: Actor
    order: str


@dataclass(frozen=True)
class Download:
    """`Ledger.download`, or `Ledger.copy_link` when ``copy`` is true."""

    actor: Actor
    order: str
    version: str
    language: str
    bitness: int
    copy: bool = False


@dataclass(frozen=True)
class AskCancellationStatus:
    actor: Actor
    order: str


@dataclass(frozen=True)
class Cancel:
    actor: Actor
    order: str


@dataclass(frozen=True)
class RequestRefund:
    actor: Actor
    order: str
    amount: Money
    refund: str
    reason: str = "customer changed plans"
    contact_name: str = "Pat Contact"
    contact_email: str = "pat@partner.example"
    contact_phone: str = "+31 20 555 0100"


@dataclass(frozen=True)
class ResolveRefund:
    actor: Actor
    refund: str
    approve: bool
    amount: Money | None = None


Command = (
    AddCustomer
    | Purchase
    | Wait
    | ViewKey
    | Download
    | AskCancellationStatus
    | Cancel
    | RequestRefund
    | ResolveRefund
)
