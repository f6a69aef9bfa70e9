"""The unit of work every command runs in: clock, loading, one atomic save, retries, the log line.

A command is "validate input → load → check visibility and role → let the
domain decide → save every change in one write". When a racing writer wins
(eventsourcing's ``IntegrityError`` on the aggregate's next version) the
attempt runs again from fresh state, so the loser meets the rule it now
breaks (R13: the second cancel gets ``AlreadyCancelled``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger import _validate, logs
from ledger.application.cache import AggregateCache
from ledger.errors import ClockError, InvalidInput
from ledger.eventstore import CACHE_SIZE, EventStoreApplication
from ledger.values import Actor

__all__ = ["MAX_WRITE_ATTEMPTS", "Clock", "UnitOfWork", "read_clock"]

MAX_WRITE_ATTEMPTS = 20

Clock = Callable[[], datetime]
T = TypeVar("T")
U = TypeVar("U")


def read_clock(clock: Clock) -> datetime:
    """R16: call the clock once; an aware datetime in range as UTC, else `ClockError`.

    The clock is user code: whatever it raises or returns instead, no command
    goes on to record a time it cannot keep.
    """
    try:
        now: object = clock()
    except Exception as error:
        raise ClockError(f"the clock raised {type(error).__name__}: {error}") from error
    try:
        return _validate.recordable_time("clock", now)
    except InvalidInput as refused:
        raise ClockError(
            f"the clock returned {_validate.shown(now)}, which {refused.problem}"
        ) from None


class UnitOfWork:
    def __init__(self, events: EventStoreApplication, clock: Clock, logger: Any) -> None:
        self.events = events
        self._cache = AggregateCache(events, CACHE_SIZE)
        self._clock = clock
        self.log = logger
        #: Log position of this object's last write: follower-mode queries wait for it (§6).
        self.last_position = 0

    def now(self) -> datetime:
        """R16: the injected clock's time as aware UTC; anything else is a `ClockError`."""
        return read_clock(self._clock)

    def get(self, aggregate_id: UUID, kind: type[T]) -> T | None:
        """The aggregate as stored now, or None when there is none of that kind under the id."""
        (aggregate,) = self._cache.load((aggregate_id,))
        return aggregate if isinstance(aggregate, kind) else None

    def get_settled(
        self, aggregate_id: UUID, kind: type[T], settled: Callable[[T], bool]
    ) -> T | None:
        """Like `get`, but a kept aggregate for which ``settled`` holds is used without a read.

        ``settled`` must hold only of what never changes once stored (a partner's
        registration of a tenant is never edited or removed).
        """
        kept = self._cache.kept(aggregate_id)
        if isinstance(kept, kind) and settled(kept):
            return kept
        return self.get(aggregate_id, kind)

    def get_pair(
        self, first: tuple[UUID, type[T]], second: tuple[UUID, type[U]]
    ) -> tuple[T | None, U | None]:
        """Two aggregates as stored now, in one read (an order and its licence)."""
        a, b = self._cache.load((first[0], second[0]))
        return (
            a if isinstance(a, first[1]) else None,
            b if isinstance(b, second[1]) else None,
        )

    def save(self, *changed: Any, **rows: Any) -> None:
        """Every pending event of the given aggregates (or bare events) in one transaction.

        ``rows``: what the recorder writes in the same transaction (``wrapped_keys``).
        What was saved is kept in the aggregate cache, only once it is committed.
        """
        recordings = self.events.save(*changed, **rows)
        for aggregate in changed:
            self._cache.keep(aggregate)
        if recordings:
            self.last_position = max(self.last_position, *(r.notification.id for r in recordings))

    @staticmethod
    def retrying(attempt: Callable[[], T]) -> T:
        """Run a load-decide-save attempt again when a racing writer won (R13)."""
        for _ in range(MAX_WRITE_ATTEMPTS - 1):
            try:
                return attempt()
            except IntegrityError:
                continue
        return attempt()

    def command(
        self, name: str, actor: Actor, **context: Any
    ) -> contextlib.AbstractContextManager[dict[str, Any]]:
        """Log one ``ledger.command`` line with the outcome; the body may add context.

        When the line would be dropped anyway (`logs.dropped`) there is nothing
        to wrap: the body gets a plain dict to add its context to.
        """
        if logs.dropped(self.log, "info"):
            return contextlib.nullcontext(context)
        return logs.logged(self.log, "ledger.command", actor, command=name, **context)
