"""JSON-ready values (`to_dict`): only str, int, bool, None, lists and dicts come out.

Money is ``{"amount": "10.00", "currency": "EUR"}`` (the amount as a string with
the currency's minor digits, so no float ever touches it), UUIDs are strings,
datetimes ISO 8601 in UTC with a ``Z``, enums their value, and sets sorted lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

__all__ = ["JSONReady", "json_value"]


def json_value(value: Any) -> Any:
    """``value`` as plain JSON data (see the module docstring for each type)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, Mapping):
        return {str(json_value(key)): json_value(item) for key, item in value.items()}
    if isinstance(value, Set):
        return sorted(json_value(item) for item in value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    raise TypeError(f"no JSON form for {type(value).__name__}")


class JSONReady:
    """Gives a dataclass `to_dict`: its fields, each as plain JSON data."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        assert is_dataclass(self)
        return {f.name: json_value(getattr(self, f.name)) for f in fields(self)}
