"""Values written back as Python source, with the imports they need: a story as a pinned test.

`repr` is not enough: an `Actor`'s roles print as ``<Role.ADMIN_AGENT: ...>``
and a datetime's zone as ``datetime.timezone.utc``. `Source` writes each
value the way a person would type it, and remembers what must be imported
(from ``ledger`` or ``ledger.testing`` where the name is public there).
"""

from __future__ import annotations

import dataclasses
import importlib
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID

from ledger.money import Money

__all__ = ["Source"]

_PUBLIC_HOMES = ("ledger", "ledger.testing")


def _home(cls: type) -> str:
    """Where a name is best imported from: a public package that exports it, else its module."""
    for home in _PUBLIC_HOMES:
        if getattr(importlib.import_module(home), cls.__name__, None) is cls:
            return home
    return cls.__module__


class Source:
    """Renders values and collects ``from module import name`` lines for them."""

    def __init__(self) -> None:
        self.imports: dict[str, set[str]] = {}

    def need(self, module: str, name: str) -> str:
        self.imports.setdefault(module, set()).add(name)
        return name

    def import_lines(self) -> list[str]:
        """The standard library's imports, a blank line, then the ledger's (as isort would)."""
        groups: list[list[str]] = [[], []]
        for module, names in sorted(self.imports.items()):
            line = f"from {module} import {', '.join(sorted(names))}"
            groups[module.split(".")[0] == "ledger"].append(line)
        return [*groups[0], *([""] if all(groups) else []), *groups[1]]

    def of(self, value: object) -> str:
        """``value`` as source text."""
        if isinstance(value, Enum):  # first: a StrEnum is a str too
            return f"{self.need(_home(type(value)), type(value).__name__)}.{value.name}"
        if value is None or isinstance(value, bool | int | str | float):
            return repr(value)
        if isinstance(value, Money):
            return f"{self.need('ledger', 'Money')}({str(value.amount)!r}, {value.currency!r})"
        if isinstance(value, UUID):
            return f"{self.need('uuid', 'UUID')}({str(value)!r})"
        if isinstance(value, datetime):
            return self._datetime(value)
        if isinstance(value, timedelta):
            return self._timedelta(value)
        if isinstance(value, tuple):
            items = [self.of(item) for item in value]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(value, list):
            return f"[{', '.join(self.of(item) for item in value)}]"
        if isinstance(value, set | frozenset):
            items = sorted(self.of(item) for item in value)
            return "{" + ", ".join(items) + "}" if items else "set()"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value)
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as source")

    def _datetime(self, moment: datetime) -> str:
        if moment.utcoffset() != timedelta(0):
            raise TypeError(f"only UTC instants are written as source, not {moment!r}")
        self.need("datetime", "UTC")
        parts = [moment.year, moment.month, moment.day, moment.hour, moment.minute]
        if moment.second or moment.microsecond:
            parts.append(moment.second)
        if moment.microsecond:
            parts.append(moment.microsecond)
        return f"{self.need('datetime', 'datetime')}({', '.join(map(str, parts))}, tzinfo=UTC)"

    def _timedelta(self, delta: timedelta) -> str:
        named = [("days", delta.days), ("seconds", delta.seconds)]
        named.append(("microseconds", delta.microseconds))
        shown = ", ".join(f"{name}={amount}" for name, amount in named if amount)
        return f"{self.need('datetime', 'timedelta')}({shown})"

    def _dataclass(self, value: object) -> str:
        cls = type(value)
        name = self.need(_home(cls), cls.__name__)
        arguments = []
        for field in dataclasses.fields(value):  # type: ignore[arg-type]
            if not field.init:
                continue
            current = getattr(value, field.name)
            if field.default is not dataclasses.MISSING and current == field.default:
                continue
            arguments.append(f"{field.name}={self.of(current)}")
        return f"{name}({', '.join(arguments)})"
