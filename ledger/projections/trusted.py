"""Values rebuilt from the ledger's own view rows, without checking them a second time.

Every view row was written by a handler, from an event that was validated when its
command was accepted and whose seal and decoding were checked before it was applied
(R15, R18). Reading a row back therefore needs no validation, only construction,
and construction was most of a query's cost: about 4 µs a row went into ``UUID(text)``
(twice), Decimal arithmetic and a frozen dataclass's ``__init__``, which sets each
field through ``object.__setattr__``. The public constructors are untouched; these
helpers are for rows the ledger wrote itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID, SafeUUID

from ledger.money import Money, stored_minor_units

T = TypeVar("T")

_new = object.__new__
_set_uuid_int = UUID.__dict__["int"].__set__
_set_uuid_safe = UUID.__dict__["is_safe"].__set__
_UNKNOWN = SafeUUID.unknown  # an enum member looked up once (each lookup is a descriptor call)
_UUID_TEXT_LENGTH = 36  # str(UUID): 32 hex digits and 4 hyphens, as the views store them


def _uuid(text: str) -> UUID:
    """`UUID(text)` for the canonical text the views hold, without its parsing checks."""
    if len(text) != _UUID_TEXT_LENGTH:  # not what a handler wrote: let UUID say what is wrong
        return UUID(text)
    value = _new(UUID)
    _set_uuid_int(value, int(text.replace("-", ""), 16))
    _set_uuid_safe(value, _UNKNOWN)
    return value


class UUIDs(dict[str, UUID]):
    """UUIDs by their text, each built once per read: a page names one order many times."""

    def __missing__(self, text: str) -> UUID:
        value = self[text] = _uuid(text)
        return value


class Amounts(dict[tuple[int, str], Money]):
    """Money by (minor units, currency), each built once per read (prices repeat)."""

    def __missing__(self, key: tuple[int, str]) -> Money:
        value = self[key] = stored_minor_units(*key)
        return value


def builder(cls: type[T]) -> Callable[..., T]:
    """A constructor of a frozen, slotted dataclass that sets its slots directly.

    Every field by keyword (defaults are not filled in). Only for
    classes without ``__post_init__``: there is nothing to skip but the per-field
    ``object.__setattr__`` of the generated ``__init__``.
    """
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} is not a plain dataclass")
    names = [field.name for field in dataclasses.fields(cls)]
    namespace: dict[str, Any] = {"new": _new, "cls": cls}
    namespace.update({f"set_{name}": getattr(cls, name).__set__ for name in names})
    body = "".join(f"    set_{name}(value, {name})\n" for name in names)
    source = f"def build(*, {', '.join(names)}):\n    value = new(cls)\n{body}    return value\n"
    exec(source, namespace)  # the source is made from the dataclass's own field names
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"trusted {cls.__name__}"
    return build
