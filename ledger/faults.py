"""When the database fails under a command: `StoreUnavailable`, and which reads are retried.

* Every public command and query runs under `guarded`: a database error that
  escapes it (a killed PostgreSQL connection, a SQLite file locked past its
  timeout, a pool that cannot hand out a connection) becomes
  `StoreUnavailable`, never a driver error. A command's events are written
  in one transaction, so it is recorded whole or not at all.
* Reads of the views and of the key table are retried (`reading`) a few
  times on a fresh connection with a short back-off: a read changes nothing,
  so running it again is safe. eventsourcing itself retries its PostgreSQL
  reads of events and its event inserts (ten times, 0.2 s apart). Nothing is
  retried once the store's own timeout has run out (a SQLite lock held past
  ``lock_timeout``, no PostgreSQL connection within ``connect_timeout``).
* Writes are not retried here: whether a write whose connection died while
  it committed was recorded is unknown, so the caller decides (a purchase
  with an idempotency key can always be sent again).
* Nothing is cached across a failure: the next call takes a fresh connection,
  so the same `Ledger` works again as soon as the database answers.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import psycopg
import psycopg_pool
from eventsourcing.persistence import (
    ConnectionNotFromPoolError,
    ConnectionPoolClosedError,
    InterfaceError,
    OperationalError,
    PersistenceError,
)

from ledger.errors import LedgerError, StoreUnavailable

__all__ = ["READ_ATTEMPTS", "guarded", "is_store_fault", "reading"]

P = ParamSpec("P")
T = TypeVar("T")

READ_ATTEMPTS = 4
_BACKOFF_SECONDS = 0.05

# Connection-level failures, worth one more try on a fresh connection.
_TRANSIENT = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)
_STORE_ERRORS = (
    PersistenceError,
    ConnectionPoolClosedError,
    ConnectionNotFromPoolError,
    psycopg.Error,
    sqlite3.Error,
)


def is_store_fault(error: BaseException) -> bool:
    return isinstance(error, _STORE_ERRORS) and not isinstance(error, LedgerError)


def _unavailable(error: BaseException) -> StoreUnavailable:
    first_line = (str(error).strip().splitlines() or [""])[0][:200]
    return StoreUnavailable(
        f"the store did not answer ({type(error).__name__}: {first_line});"
        " nothing of this call was half-written: try again when the database is back"
    )


def guarded(method: Callable[P, T]) -> Callable[P, T]:
    """A public facade method whose database failures are `StoreUnavailable`."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except LedgerError:
            raise
        except Exception as error:
            if is_store_fault(error):
                raise _unavailable(error) from error
            raise

    return call


def _waited_already(error: BaseException) -> bool:
    """A SQLite lock or an empty pool: the store's own timeout has run out already."""
    return "locked" in str(error) or isinstance(error.__cause__, psycopg_pool.PoolTimeout)


def reading(read: Callable[[], T]) -> T:
    """Run a read, again on a fresh connection if the database dropped it (bounded)."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return read()
        except _TRANSIENT as error:
            if attempt == READ_ATTEMPTS - 1 or _waited_already(error):
                raise
            time.sleep(_BACKOFF_SECONDS * 2**attempt)
    raise AssertionError("unreachable")
