"""Brings the views up to date with the event log (pull, batch, track).

The facade calls `catch_up` before it answers a query, which gives
read-your-writes on every store; a separate worker process can call it in a
loop (PostgreSQL or SQLite alike) because the tracking record makes a second
application of the same events fail and roll back.
"""

from __future__ import annotations

import threading
import time

from eventsourcing.persistence import IntegrityError, Notification, OperationalError, Tracking

from ledger.aggregates.base import LedgerEvent
from ledger.eventstore import EventStore
from ledger.projections.views import LedgerViews

BATCH_SIZE = 500
# A busy SQLite writer or a racing projector: back off briefly, then re-read the position.
MAX_CONFLICTS = 50
BACKOFF_SECONDS = 0.01
# An OperationalError comes after the store's own lock timeout (or from a dropped
# connection): a few more tries, not fifty waits of the whole timeout.
MAX_STORE_FAULTS = 3


class ViewUpdater:
    def __init__(self, events: EventStore, views: LedgerViews) -> None:
        self._events = events
        self._views = views
        self._lock = threading.Lock()

    def decode(self, notification: Notification) -> LedgerEvent:
        event = self._events.mapper.to_domain_event(notification)
        assert isinstance(event, LedgerEvent)
        return event

    def position(self) -> int:
        return self._views.max_tracking_id(self._events.name) or 0

    def catch_up(self) -> int:
        """Apply every event recorded so far; returns how many this call applied."""
        applied = 0
        conflicts = 0
        faults = 0
        with self._lock:
            while True:
                position = self.position()
                batch = self._events.recorder.select_notifications(
                    start=position, limit=BATCH_SIZE, inclusive_of_start=False
                )
                if not batch:
                    return applied
                decoded = [(self.decode(notification), notification) for notification in batch]
                try:
                    self._views.apply(decoded, Tracking(self._events.name, batch[-1].id))
                except (IntegrityError, OperationalError) as error:
                    conflicts += 1
                    faults += isinstance(error, OperationalError)
                    if conflicts > MAX_CONFLICTS or faults > MAX_STORE_FAULTS:
                        raise
                    time.sleep(BACKOFF_SECONDS * conflicts)
                    continue
                applied += len(batch)
