"""Input checks shared by the value types and the facade (R15).

Each check either returns the value in its canonical form or raises
`InvalidInput` naming the field, so a command can validate everything
before it records anything.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path, PurePath
from typing import Any, TypeVar
from uuid import UUID

from ledger.errors import InvalidInput

MAX_TEXT_LENGTH = 256
MAX_PATH_LENGTH = 4096
#: The longest name of one file or directory (Linux's NAME_MAX, in bytes).
NAME_MAX = 255
#: Most items a tuple argument may hold (download options, attachment names).
MAX_ITEMS = 100
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
# Unicode Cc (C0, DEL, C1) and Cs (lone surrogates): a surrogate cannot be encoded as
# UTF-8, so a stored one would make every later read of the store fail (R15).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: The instants the ledger records (R16). Wide enough for any clock, narrow enough
#: that a deadline or a link expiry a century later is still a datetime, and that
#: the views' text timestamps keep four-digit years (their text order is time order).
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

E = TypeVar("E")


def shown(value: object, limit: int = 40) -> str:
    """A short repr for an error message: never huge, and never raises."""
    if isinstance(value, int) and value.bit_length() > 4000:
        # str() of a 5,000-digit int raises ValueError (CPython's int-to-str limit).
        return f"an int of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # a __repr__ is user code
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def text(field: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a str, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidInput(field, f"is longer than {MAX_TEXT_LENGTH} characters")
    if _CONTROL.search(value):
        raise InvalidInput(field, "contains control characters")
    if _SURROGATE.search(value):
        raise InvalidInput(field, "contains a surrogate (not a Unicode character)")
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
            raise InvalidInput(field, f"{shown(value)} is not a UUID") from None
    raise InvalidInput(field, f"must be a UUID, got {type(value).__name__}")


#: The largest integer a store compares with (SQL BIGINT): no count, position or size is more.
BIGINT_MAX = 2**63 - 1


def integer(field: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be an int, got {type(value).__name__}")
    upper = BIGINT_MAX if maximum is None else maximum
    if value < minimum or value > upper:
        raise InvalidInput(field, f"{shown(value)} is outside {minimum}..{upper}")
    return value


def aware_utc(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"must be a datetime, got {type(value).__name__}")
    try:
        offset = value.utcoffset()
    except Exception:  # a tzinfo is user code; whatever it raises, the value is unusable
        raise InvalidInput(field, "has a tzinfo that cannot give its UTC offset") from None
    if offset is None:
        raise InvalidInput(field, "must be timezone-aware (a naive datetime is refused)")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        # datetime.max at UTC-5 is an instant after datetime.max in UTC.
        raise InvalidInput(field, "is outside the range of UTC datetimes") from None


def recordable_time(field: str, value: object) -> datetime:
    """An aware instant the ledger may store: UTC, from `EARLIEST` up to `LATEST`."""
    moment = aware_utc(field, value)
    if not EARLIEST <= moment < LATEST:
        raise InvalidInput(field, f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d}")
    return moment


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
    # Nothing is recorded outside EARLIEST..LATEST, so narrowing to it changes no answer,
    # and keeps "the day after end" a date even for date.max.
    return max(first, EARLIEST.date()), min(last, LATEST.date())


def month(field: str, value: object) -> str:
    """A UTC invoice month, ``YYYY-MM``."""
    if not _MONTH.fullmatch(text(field, value)):
        raise InvalidInput(field, "must be YYYY-MM")
    return str(value)


def export_target(field: str, value: object) -> Path | Any:
    """Where an export goes: a path of a file that can be created there, or a text stream."""
    if isinstance(value, str | PurePath):
        name = str(value)
        if not name.strip() or len(name) > MAX_PATH_LENGTH or _CONTROL.search(name):
            raise InvalidInput(field, "must be a file path (not empty, no control characters)")
        if _SURROGATE.search(name):
            raise InvalidInput(field, "contains a surrogate (not a Unicode character)")
        path = Path(value)
        if any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
            raise InvalidInput(field, f"has a file name longer than {NAME_MAX} bytes")
        if path.is_dir():
            raise InvalidInput(field, f"{shown(name)} is a directory")
        if not path.absolute().parent.is_dir():
            raise InvalidInput(field, f"the directory of {shown(name)} does not exist")
        return path
    if isinstance(value, io.RawIOBase | io.BufferedIOBase) or getattr(value, "closed", False):
        raise InvalidInput(
            field, "must be an open text stream (a binary or closed one will not do)"
        )
    if callable(getattr(value, "write", None)):
        return value
    raise InvalidInput(field, f"must be a file path or a text stream, got {type(value).__name__}")


def choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(field, f"must be one of {', '.join(repr(c) for c in choices)}")
    return value


def member(field: str, value: object, enum_type: type[E]) -> E:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except Exception:  # the lookup hashes the value: user code, which may raise anything
        raise InvalidInput(field, f"{shown(value)} is not a {enum_type.__name__}") from None


def tuple_of(
    field: str,
    value: object,
    item_type: type[Any],
    *,
    max_items: int = MAX_ITEMS,
    shape: str | None = None,
) -> tuple[Any, ...]:
    """A tuple (from any iterable but a str) of ``item_type``; ``shape`` names it in errors."""
    expected = shape or f"a tuple of {item_type.__name__}"
    # A str is iterable too; accepting it would turn "en-US" into five languages.
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Iterable):
        raise InvalidInput(field, f"must be {expected}, got {type(value).__name__}")
    try:
        # One more than allowed is enough to refuse: an endless iterator is bad input too.
        items = tuple(itertools.islice(value, max_items + 1))
    except Exception:  # iterating is user code
        raise InvalidInput(field, f"must be {expected}") from None
    if len(items) > max_items:
        raise InvalidInput(field, f"holds more than {max_items} items")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, item_type):
            raise InvalidInput(field, f"must contain only {item_type.__name__} values")
        if isinstance(item, str):
            text(field, item)
    return items


def progress(field: str, value: object) -> Any:
    """A ``progress(done, total)`` callback, or None."""
    if value is not None and not callable(value):
        raise InvalidInput(field, "must be a callable progress(done, total), or None")
    return value
