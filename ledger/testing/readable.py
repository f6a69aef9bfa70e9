"""Values as a person reads them in a failure report: ``0.05 EUR``, ``8 days − 1 µs``.

Reprs are for reproducing a value; a report is read first, so money, times
and durations are written the way the rules in docs/rules.md write them.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from ledger.money import Money

__all__ = ["duration", "instant", "show"]

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def duration(delta: timedelta) -> str:
    """``8 days − 1 µs``, ``2 days 06:00:00``, ``1 µs``: a boundary's neighbours read as such."""
    if delta < timedelta(0):
        return f"−{duration(-delta)}"
    days, rest = divmod(delta, DAY)
    # Next to a whole day, the day is what matters: 8 days − 1 µs, not 7 days 23:59:59.999999.
    if rest and DAY - rest < SECOND:
        return f"{_days(days + 1)} − {_fraction(DAY - rest)}"
    if days and rest and rest < SECOND:
        return f"{_days(days)} + {_fraction(rest)}"
    if not rest:
        return _days(days) if days else "0 s"
    if rest < SECOND:
        return _fraction(rest)
    hours, remainder = divmod(rest, timedelta(hours=1))
    minutes, remainder = divmod(remainder, timedelta(minutes=1))
    parts = [_days(days)] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    if remainder:
        seconds = remainder / SECOND
        parts.append(f"{seconds:g} s" if remainder.microseconds == 0 else f"{seconds:.6f} s")
    return " ".join(parts)


def _days(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def _fraction(delta: timedelta) -> str:
    micros = delta // timedelta(microseconds=1)
    return f"{micros // 1000} ms" if micros % 1000 == 0 else f"{micros} µs"


def instant(moment: datetime) -> str:
    """``2026-11-10 08:59:59.999999 UTC``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") + " UTC"


def show(value: object) -> str:
    """One value, readably; containers and dataclasses element by element."""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, timedelta):
        return duration(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
    if is_dataclass(value) and not isinstance(value, type):
        shown = ", ".join(f"{f.name}={show(getattr(value, f.name))}" for f in fields(value))
        return f"{type(value).__name__}({shown})"
    if isinstance(value, str):
        return repr(value)
    return str(value)
