"""Input checks shared by the value types and the facade (R15).

Each check either returns the value in its canonical form or raises
`InvalidInput` naming the field, so a command can validate everything
before it records anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from ledger.errors import InvalidInput

MAX_TEXT_LENGTH = 256
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

E = TypeVar("E")


def text(field: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a str, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidInput(field, f"is longer than {MAX_TEXT_LENGTH} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidInput(field, "contains control characters")
    return value


def optional_text(field: str, value: object) -> str | None:
    return None if value is None else text(field, value)


def uuid(field: str, value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            raise InvalidInput(field, f"{value!r} is not a UUID") from None
    raise InvalidInput(field, f"must be a UUID, got {type(value).__name__}")


def integer(field: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be an int, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f"..{maximum}"
        raise InvalidInput(field, f"{value} is outside {minimum}{upper}")
    return value


def aware_utc(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "must be timezone-aware (naive datetimes are refused)")
    return value.astimezone(UTC)


def utc_day(field: str, value: object) -> date:
    """A calendar day; an aware datetime counts as its UTC date."""
    if isinstance(value, datetime):
        return aware_utc(field, value).date()
    if isinstance(value, date):
        return value
    raise InvalidInput(field, f"must be a date, got {type(value).__name__}")


def day_range(start: object, end: object) -> tuple[date, date]:
    """R5: UTC calendar days, both ends inclusive; ``end`` before ``start`` is refused."""
    first, last = utc_day("start", start), utc_day("end", end)
    if last < first:
        raise InvalidInput("end", "is before start")
    return first, last


def month(field: str, value: object) -> str:
    """A UTC invoice month, ``YYYY-MM``."""
    if not _MONTH.match(text(field, value)):
        raise InvalidInput(field, "must be YYYY-MM")
    return str(value)


def member(field: str, value: object, enum_type: type[E]) -> E:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except (ValueError, TypeError):
        raise InvalidInput(field, f"{value!r} is not a {enum_type.__name__}") from None


def tuple_of(field: str, value: object, item_type: type[Any]) -> tuple[Any, ...]:
    # A str is iterable too; accepting it would turn "en-US" into five languages.
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput(field, f"must be a tuple of {item_type.__name__}")
    items = tuple(value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, item_type):
            raise InvalidInput(field, f"must contain only {item_type.__name__} values")
        if isinstance(item, str):
            text(field, item)
    return items
