"""The follower: keeps the views up to date for ``views="follower"`` ledgers (§6).

PostgreSQL: eventsourcing's own `PostgresSubscription` (a LISTEN/NOTIFY
thread, and a pull thread that reads the log in batches of 500 after each
notification) delivers new events; each delivered batch is applied in one
transaction with its tracking record. A timer pokes the pull thread every
``poll_interval`` seconds as a safety net for a lost notification. When the
LISTEN connection dies (killed, a restart, a failover), the subscription is
started again after at most half a second: what was missed is pulled first.

SQLite (no subscriptions in eventsourcing's SQLite recorder): one indexed
query of the log after the views' position every ``poll_interval`` seconds,
applying whatever it finds the same way.

Either way the guarantees come from the views' transaction, not from the
follower: the tracking record and the chain head refuse a batch that does not
directly follow the views' position, so several followers can run (exactly
one applies each event) and a follower killed at any moment loses and
doubles nothing; on restart it continues from the tracking record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresSubscription

from ledger.faults import is_store_fault
from ledger.projections.updater import ViewUpdater

__all__ = ["BatchingSubscription", "follow"]

#: Longest wait before listening again after the subscription's connection failed.
_RESUBSCRIBE_PAUSE = 0.5
#: Called after each pass with how many events it applied.
OnApplied = Callable[[int], None]


class BatchingSubscription(PostgresSubscription):
    """eventsourcing's PostgreSQL subscription, read a pulled batch at a time, with a poll.

    It uses the parent's buffered list (``_notifications``), which is what its
    own ``__next__`` reads from: pinned to eventsourcing 9.5 by pyproject.toml.
    """

    def __init__(
        self, recorder: PostgresApplicationRecorder, gt: int, poll_interval: float
    ) -> None:
        super().__init__(recorder=recorder, gt=gt)
        self._poll_interval = poll_interval
        self._poll_thread = threading.Thread(target=self._poll, daemon=True)
        self._poll_thread.start()

    def _poll(self) -> None:
        while not self._has_been_stopped:
            threading.Event().wait(self._poll_interval)
            self._has_been_notified.set()

    def next_batch(self) -> Sequence[Notification]:
        """Block for the next notification, then take every one already pulled after it."""
        first = next(self)
        rest = list(self._notifications[self._notifications_index :])
        self._notifications_index = len(self._notifications)
        return [first, *rest]


def follow(
    updater: ViewUpdater,
    recorder: object,
    stop: threading.Event,
    *,
    poll_interval: float,
    on_applied: OnApplied | None = None,
) -> None:
    """Apply new events until ``stop`` is set."""
    if isinstance(recorder, PostgresApplicationRecorder):
        _follow_subscription(updater, recorder, stop, poll_interval, on_applied)
    else:
        _follow_by_polling(updater, stop, poll_interval, on_applied)


def _follow_by_polling(
    updater: ViewUpdater, stop: threading.Event, poll_interval: float, on_applied: OnApplied | None
) -> None:
    while not stop.is_set():
        applied = updater.catch_up()
        if on_applied is not None:
            on_applied(applied)
        if applied == 0 or updater.failure is not None:
            stop.wait(poll_interval)


def _follow_subscription(
    updater: ViewUpdater,
    recorder: PostgresApplicationRecorder,
    stop: threading.Event,
    poll_interval: float,
    on_applied: OnApplied | None,
) -> None:
    while not stop.is_set():
        try:
            _subscribed_pass(updater, recorder, stop, poll_interval, on_applied)
        except Exception as error:
            if not is_store_fault(error):  # ViewsMoved too (a `StoreContention`)
                raise
            # The LISTEN connection was killed (eventsourcing #305: its subscription just
            # stops), the server restarted or failed over (a batch whose commit we did not
            # see may have landed: the views moved): pull what was missed, listen again.
            stop.wait(min(poll_interval, _RESUBSCRIBE_PAUSE))


def _subscribed_pass(
    updater: ViewUpdater,
    recorder: PostgresApplicationRecorder,
    stop: threading.Event,
    poll_interval: float,
    on_applied: OnApplied | None,
) -> None:
    """Catch up, then apply what a subscription delivers, until it ends or fails."""
    applied = updater.catch_up()  # what was recorded before we (re)subscribe
    if on_applied is not None:
        on_applied(applied)
    if updater.failure is not None:
        stop.wait(poll_interval)  # a damaged event: look again later, it may be repaired
        return
    subscription = BatchingSubscription(recorder, updater.position(), poll_interval)
    stopper = threading.Thread(target=_stop_when, args=(stop, subscription), daemon=True)
    stopper.start()
    try:
        with subscription:
            while not stop.is_set():
                try:
                    batch = subscription.next_batch()
                except StopIteration:
                    break
                delivered = updater.apply_delivered(batch)
                if delivered is None:
                    break  # out of step (another follower, a damaged event): pull, resubscribe
                if on_applied is not None:
                    on_applied(delivered)
    finally:
        subscription.stop()


def _stop_when(stop: threading.Event, subscription: BatchingSubscription) -> None:
    while not stop.wait(0.2):
        if subscription._has_been_stopped:
            return
    subscription.stop()
