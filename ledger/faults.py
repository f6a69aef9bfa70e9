"""When the database fails under a command: `StoreUnavailable`, and which reads are retried.

* Every public command and query runs under `guarded`: a database error that
  escapes it (a killed PostgreSQL connection, a SQLite file locked past its
  timeout, a pool that cannot hand out a connection) becomes
  `StoreUnavailable`, never a driver error. A command's events are written
  in one transaction, so it is recorded whole or not at all.
* Reads of the views and of the key table are retried (`reading`) a few
  times on a fresh connection with a short back-off: a read changes nothing,
  so running it again is safe. eventsourcing itself retries its PostgreSQL
  reads of events and its event inserts ten times; the ledger's recorders
  retry them once (`once_more`). Nothing is retried once the store's own
  timeout has run out (a lock held past ``lock_timeout``, a statement past
  ``statement_timeout``, no connection within ``connect_timeout``): each
  of those is a `StoreUnavailable` that names the setting.
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

__all__ = [
    "READ_ATTEMPTS",
    "StoreContention",
    "guarded",
    "is_store_fault",
    "once_more",
    "reading",
    "waited_already",
]

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


class StoreContention(Exception):  # a condition to wait out, not a bug
    """Other processes kept changing what this call read (another projector applying the
    same events after a failover, say): nothing was written; the call may be made again."""


_STORE_ERRORS = (
    StoreContention,
    PersistenceError,
    ConnectionPoolClosedError,
    ConnectionNotFromPoolError,
    psycopg.Error,
    sqlite3.Error,
)


def is_store_fault(error: BaseException) -> bool:
    return isinstance(error, _STORE_ERRORS) and not isinstance(error, LedgerError)


_WHAT_TO_DO = {
    "lock": (
        "another session held a lock longer than the URL's lock_timeout (default 5 s):"
        " nothing of this call was written; try again, or find the session holding the"
        " lock (pg_stat_activity)"
    ),
    "statement": (
        "a statement ran longer than the URL's statement_timeout (default 60 s): nothing of"
        " this call was written; try again, or raise ?statement_timeout= for long reports"
    ),
    "contention": (
        "other projectors kept moving the views while this call read them (several catching"
        " up at once, after a failover say): nothing of this call was written; try again"
    ),
    "connect": (
        "no connection to the database within the URL's connect_timeout (default 5 s):"
        " nothing of this call was written; check that the server is up and reachable,"
        " then try again (the same Ledger reconnects by itself)"
    ),
}


def _cause_kind(error: BaseException) -> str | None:
    """Which of the store's own timeouts ran out behind ``error``, if one did."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, psycopg.errors.LockNotAvailable):
            return "lock"
        if isinstance(seen, StoreContention):
            return "contention"
        if isinstance(seen, psycopg.errors.QueryCanceled):
            return "statement"
        if isinstance(seen, psycopg_pool.PoolTimeout) or "timeout expired" in str(seen):
            return "connect"
        if isinstance(seen, sqlite3.OperationalError | OperationalError) and "locked" in str(seen):
            return "lock"
        seen = seen.__cause__ or seen.__context__
    return None


def _unavailable(error: BaseException) -> StoreUnavailable:
    first_line = (str(error).strip().splitlines() or [""])[0][:200]
    kind = _cause_kind(error)
    advice = (
        _WHAT_TO_DO[kind]
        if kind
        else "nothing of this call was half-written: try again when the database is back"
    )
    return StoreUnavailable(
        f"the store did not answer ({type(error).__name__}: {first_line}); {advice}"
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


def waited_already(error: BaseException) -> bool:
    """A lock, statement or connection timeout: the store's own wait has run out already."""
    return _cause_kind(error) is not None


def once_more(method: Callable[P, T]) -> Callable[P, T]:
    """``method`` again on a fresh connection if its connection failed, unless a timeout ran out.

    In place of eventsourcing's ten attempts: a connection that died is replaced at
    once, and a server that is down is reported within its ``connect_timeout``.
    """

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if waited_already(error):
                raise
            time.sleep(_BACKOFF_SECONDS)
        return method(*args, **kwargs)

    return call


def reading(read: Callable[[], T]) -> T:
    """Run a read, again on a fresh connection if the database dropped it (bounded)."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return read()
        except _TRANSIENT as error:
            if attempt == READ_ATTEMPTS - 1 or waited_already(error):
                raise
            time.sleep(_BACKOFF_SECONDS * 2**attempt)
    raise AssertionError("unreachable")
