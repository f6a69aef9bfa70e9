"""Input checks of the facade's own arguments (R15), before anything is loaded or written.

The value types (`Actor`, `Customer`, `Product`, `Money`) check themselves on
construction; these checks make sure a command was handed such values, and
validate the plain arguments that have no value type of their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from ledger import _validate
from ledger.errors import InvalidInput
from ledger.money import MAX_AMOUNT, Money
from ledger.policies.kms import ACTIVATIONS
from ledger.values import Actor, Product

__all__ = [
    "MAX_QUANTITY",
    "activation",
    "actor",
    "boolean",
    "email",
    "instance",
    "optional_positive_money",
    "optional_uuid",
    "order_total",
    "phone",
    "positive_money",
    "product",
    "quantity",
    "texts",
]

MAX_QUANTITY = 100_000
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


def product(field: str, value: object) -> Product:
    return instance(field, value, Product)


def quantity(field: str, value: object) -> int:
    return _validate.integer(field, value, minimum=1, maximum=MAX_QUANTITY)


def optional_uuid(field: str, value: object) -> UUID | None:
    return None if value is None else _validate.uuid(field, value)


def order_total(arguments: Mapping[str, Any]) -> Money:
    """R15: ``unit_price × quantity`` may not exceed the largest amount, as no Money may."""
    unit_price: Money = arguments["unit_price"]
    quantity: int = arguments["quantity"]
    total = unit_price * quantity
    if total.amount > MAX_AMOUNT:
        raise InvalidInput(
            "quantity",
            f"{quantity} × {unit_price} is above the largest order total, {MAX_AMOUNT:,}",
        )
    return total


def activation(field: str, value: object) -> str:
    text = _validate.text(field, value)
    if text not in ACTIVATIONS:
        raise InvalidInput(field, f"{_validate.shown(text)} is not an activation type (MAK)")
    return text


def boolean(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be True or False")
    return value


def optional_positive_money(field: str, value: object) -> Money | None:
    return None if value is None else positive_money(field, value)


def texts(field: str, value: object) -> tuple[str, ...]:
    return _validate.tuple_of(field, value, str)


def email(field: str, value: object) -> str:
    """R10: ``local@domain``."""
    if not _EMAIL.match(_validate.text(field, value)):
        raise InvalidInput(field, "must look like local@domain")
    return str(value)


def phone(field: str, value: object) -> str:
    """R10: digits with an optional ``+``, spaces, dots, dashes, brackets."""
    if not _PHONE.match(_validate.text(field, value)):
        raise InvalidInput(field, "must be a phone number")
    return str(value)
