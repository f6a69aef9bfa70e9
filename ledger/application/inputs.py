"""Input checks of the facade's own arguments (R15), before anything is loaded or written.

The value types (`Actor`, `Customer`, `Product`, `Money`) check themselves on
construction; these checks make sure a command was handed such values, and
validate the plain arguments that have no value type of their own.
"""

from __future__ import annotations

import re
from typing import TypeVar

from ledger import _validate
from ledger.errors import InvalidInput
from ledger.money import MAX_AMOUNT, Money
from ledger.values import Actor

__all__ = [
    "ACTIVATIONS",
    "MAX_QUANTITY",
    "actor",
    "contact",
    "instance",
    "order_total",
    "positive_money",
]

MAX_QUANTITY = 100_000
#: "KMS" is a known activation the rules refuse (R3); anything else is not an activation.
ACTIVATIONS = ("MAK", "KMS")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,31}$")

V = TypeVar("V")


def instance(field: str, value: object, kind: type[V]) -> V:
    if not isinstance(value, kind):
        raise InvalidInput(field, f"must be a {kind.__name__}, got {type(value).__name__}")
    return value


def actor(value: object) -> Actor:
    return instance("actor", value, Actor)


def positive_money(field: str, value: object) -> Money:
    money = instance(field, value, Money)
    if money.amount <= 0:
        raise InvalidInput(field, "must be above zero")
    return money


def order_total(unit_price: Money, quantity: int) -> Money:
    """R15: ``unit_price × quantity`` may not exceed the largest amount, as no Money may."""
    total = unit_price * quantity
    if total.amount > MAX_AMOUNT:
        raise InvalidInput(
            "quantity",
            f"{quantity} × {unit_price} is above the largest order total, {MAX_AMOUNT:,}",
        )
    return total


def activation(value: object) -> str:
    text = _validate.text("activation", value)
    if text not in ACTIVATIONS:
        raise InvalidInput("activation", f"{_validate.shown(text)} is not an activation type (MAK)")
    return text


def contact(email: object, phone: object) -> tuple[str, str]:
    """R10: ``local@domain``, and digits with an optional ``+``, spaces, dots, dashes, brackets."""
    if not _EMAIL.match(_validate.text("contact_email", email)):
        raise InvalidInput("contact_email", "must look like local@domain")
    if not _PHONE.match(_validate.text("contact_phone", phone)):
        raise InvalidInput("contact_phone", "must be a phone number")
    return str(email), str(phone)
