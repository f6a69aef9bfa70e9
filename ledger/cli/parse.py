"""Command-line text into the library's values; bad text is `InvalidInput` naming the option.

The library checks the values themselves (a market, a currency, a quantity's
range): these functions only read the text, so that both kinds of mistake
exit with the same code (2) and a one-line message.
"""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ledger.errors import InvalidInput
from ledger.money import Money
from ledger.values import Role


def money(option: str, text: str) -> Money:
    """``"249.00 EUR"`` (or ``"EUR 249.00"``) as `Money`; the library checks amount and currency."""
    parts = text.split()
    if len(parts) != 2:
        raise InvalidInput(option, f"{text!r} is not an amount and a currency, e.g. '249.00 EUR'")
    amount, currency = reversed(parts) if parts[0].isalpha() else parts
    try:
        return Money(amount, currency)
    except InvalidInput as error:
        raise InvalidInput(option, f"{error.field} {error.problem}") from None


def day_or_instant(option: str, text: str) -> date | datetime:
    """``YYYY-MM-DD`` (a whole UTC day) or an ISO 8601 datetime with a UTC offset (exact)."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            option, f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 datetime"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(option, f"{text!r} needs a UTC offset (e.g. Z or +01:00)")
    return moment


def instant(option: str, text: str) -> datetime:
    """An aware ISO 8601 datetime, or a date: its first instant in UTC."""
    moment = day_or_instant(option, text)
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, datetime.min.time(), tzinfo=UTC)


def roles(option: str, names: list[str]) -> set[Role]:
    """Role names, in any case, each given once or comma-separated."""
    chosen: set[Role] = set()
    for name in (part.strip() for text in names for part in text.split(",")):
        if not name:
            continue
        try:
            chosen.add(Role(name.upper()))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise InvalidInput(option, f"{name!r} is not a role (one of {known})") from None
    return chosen


def policy(option: str, text: str) -> Any:
    """``module:attribute`` as the object it names (a policy, or a zero-argument factory
    of one). The working directory is importable, as for ``python -m``."""
    module_name, _, attribute = text.partition(":")
    if not module_name or not attribute:
        raise InvalidInput(option, f"{text!r} is not module:attribute, e.g. my_policies:CANDIDATE")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        found: Any = importlib.import_module(module_name)
        for name in attribute.split("."):
            found = getattr(found, name)
    except Exception as error:  # an import runs user code: any error is the option's
        raise InvalidInput(
            option, f"{text!r} cannot be loaded ({type(error).__name__}: {error})"
        ) from None
    if isinstance(found, type) or (callable(found) and not hasattr(found, "policy_id")):
        try:
            found = found()
        except Exception as error:
            raise InvalidInput(
                option, f"{text!r} could not be made ({type(error).__name__}: {error})"
            ) from None
    return found
