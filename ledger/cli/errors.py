"""Exit codes by error class and the one line on stderr that goes with them (README, CLI)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from eventsourcing.persistence import OperationalError

from ledger.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidInput,
    LedgerError,
    OrderNotFound,
)

OK = 0
USAGE = 2
NOT_FOUND = 3
DENIED = 4
REFUSED = 5
UNAVAILABLE = 6
TAMPERED = 7

#: First match wins: subclasses before their bases.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (InvalidInput, USAGE),
    (OrderNotFound, NOT_FOUND),
    (AccessDenied, DENIED),
    (ConfigurationError, UNAVAILABLE),
    (OperationalError, UNAVAILABLE),
    (LedgerError, REFUSED),
)


def exit_code(error: BaseException) -> int:
    return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), REFUSED)


def fail(error: BaseException) -> NoReturn:
    """Print ``ClassName: message`` on one line of stderr and exit with the class's code."""
    message = " ".join(str(error).split())
    print(f"{type(error).__name__}: {message}", file=sys.stderr)
    raise typer.Exit(exit_code(error))


@contextmanager
def reported() -> Iterator[None]:
    """Turn the library's errors (and an unavailable store) into exit codes, no traceback."""
    try:
        yield
    except (LedgerError, OperationalError) as error:
        fail(error)
