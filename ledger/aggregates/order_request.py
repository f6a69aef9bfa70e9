"""R12: what a purchase asks for (`OrderRequest`) and its fingerprint.

A repeated idempotency key must carry the same parameters; "the same" is the
SHA-256 of `FINGERPRINT_FIELDS` as canonical JSON, stored with every keyed order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from ledger.money import Money
from ledger.values import Product

__all__ = ["FINGERPRINT_FIELDS", "OrderRequest", "purchase_fingerprint"]

#: R12: what "the same parameters" means for a repeated idempotency key, field by
#: field of `OrderRequest`. Fixed: the hash of these fields is stored with every keyed
#: order, so a field added to `Product` later does not change the meaning of old keys.
FINGERPRINT_FIELDS = (
    "tenant_id",
    "product.product_id",
    "product.sku_id",
    "product.title",
    "product.kind",
    "product.term_days",
    "product.versions",
    "product.languages",
    "product.bitness",
    "quantity",
    "unit_price.amount",
    "unit_price.currency",
    "activation",
)


def _fingerprint_reader() -> Any:
    """A function that reads `FINGERPRINT_FIELDS` of a request into the fingerprint's JSON.

    Written out from the field list once (as ``trusted.builder`` writes its
    constructors), so that a purchase pays for plain attribute reads: walking the
    dotted paths on every call cost more than hashing them.
    """
    groups: dict[str, list[str]] = {}
    for path in FINGERPRINT_FIELDS:
        parent, _, name = path.rpartition(".")
        if "." in parent or not name.isidentifier() or (parent and not parent.isidentifier()):
            raise ValueError(f"fingerprint fields are names, nested one level at most: {path}")
        groups.setdefault(parent, []).append(name)
    entries = [f"{name!r}: c(r.{name})" for name in groups.pop("", [])]
    entries += [
        f"{parent!r}: {{" + ", ".join(f"{name!r}: c(r.{parent}.{name})" for name in names) + "}"
        for parent, names in groups.items()
    ]
    namespace: dict[str, Any] = {"c": _canonical}
    # The source is made from the field list above, which is names only (checked).
    exec("def read(r):\n    return {" + ", ".join(entries) + "}\n", namespace)
    return namespace["read"]


#: ``json.dumps(..., sort_keys=True, separators=(",", ":"))``'s encoder, built once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class OrderRequest:
    """What a partner asks to buy (R3): the parameters an idempotency key stands for (R12)."""

    tenant_id: UUID
    product: Product
    quantity: int
    unit_price: Money
    activation: str = "MAK"
    idempotency_key: str | None = None

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def fingerprint(self) -> str:
        """SHA-256 over `FINGERPRINT_FIELDS` as canonical JSON (sorted keys, no spaces)."""
        return hashlib.sha256(_CANONICAL.encode(_read_fingerprint(self)).encode()).hexdigest()


#: How a field's value of these types is held in the fingerprint's JSON.
_CANONICAL_FORMS: dict[type, Any] = {UUID: str, Decimal: str, tuple: list}


def _canonical(value: object) -> object:
    """A field's value as the fingerprint's JSON holds it."""
    form = _CANONICAL_FORMS.get(type(value))
    if form is not None:
        return form(value)
    if isinstance(value, Enum):
        return value.value
    return value


_read_fingerprint = _fingerprint_reader()


def purchase_fingerprint(
    tenant_id: UUID, product: Product, quantity: int, unit_price: Money, activation: str
) -> str:
    """`OrderRequest.fingerprint` of these parameters."""
    return OrderRequest(tenant_id, product, quantity, unit_price, activation).fingerprint
