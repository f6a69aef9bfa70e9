"""Aggregates kept in memory between commands, brought forward from the store before each use.

A command never decides on what the cache alone says: every load reads, in one
query for all the aggregates the command needs, the events stored after the
versions kept here, and applies them. So an aggregate another process (or
another `Ledger` object) changed is brought up to date, and a command that
lost a race (`IntegrityError`) reloads the winner's events on its retry. The
cache only saves decoding and replaying what this process has seen already.

Kept objects are never mutated: a load hands out a copy, a newer state replaces
the kept object by a new one. A command that fails after changing its copy (a
refused rule, a lost race, a dropped connection) therefore leaves nothing in the
cache; only what a committed save wrote is kept (`keep`, after the save).

A shallow copy is enough because the aggregates' ``apply`` methods only ever
assign new values (they never change a value in place: see ``Tenant.Registered``);
each copy gets a pending-events list of its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate

from ledger.eventstore import EventStoreApplication

__all__ = ["AggregateCache"]


def _copy(aggregate: Any) -> Any:
    # What copy.copy does for a plain object, without its __reduce_ex__ round trip.
    clone = object.__new__(type(aggregate))
    clone.__dict__.update(aggregate.__dict__)
    clone.__dict__["_pending_events"] = []
    return clone


class AggregateCache:
    def __init__(self, events: EventStoreApplication, size: int) -> None:
        self._events = events
        self._size = size
        self._kept: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, ids: Sequence[UUID]) -> list[Any | None]:
        """Each aggregate as stored now (None when it has no events), in one read."""
        with self._lock:
            known = [self._kept.get(aggregate_id) for aggregate_id in ids]
        after = {
            aggregate_id: 0 if kept is None else kept.version
            for aggregate_id, kept in zip(ids, known, strict=True)
        }
        recorder: Any = self._events.recorder
        # One query; on PostgreSQL eventsourcing's retry rides out a dropped connection.
        stored = recorder.select_events_after(after)
        mapper = self._events.mapper
        loaded: list[Any | None] = []
        for aggregate_id, kept in zip(ids, known, strict=True):
            newer = stored.get(aggregate_id)
            if not newer:
                loaded.append(None if kept is None else _copy(kept))
                continue
            aggregate = None if kept is None else _copy(kept)
            for stored_event in newer:
                event: Any = mapper.to_domain_event(stored_event)
                aggregate = event.mutate(aggregate)
            if aggregate is not None:
                self.keep(aggregate)
            loaded.append(aggregate)
        return loaded

    def kept(self, aggregate_id: UUID) -> Any | None:
        """A copy of the kept aggregate, without reading the store (None: none kept).

        Only for facts that never change once stored (a partner's registration of a
        tenant): anything that can change must be `load`-ed.
        """
        with self._lock:
            aggregate = self._kept.get(aggregate_id)
        return None if aggregate is None else _copy(aggregate)

    def keep(self, aggregate: Any) -> None:
        """Keep (a copy of) an aggregate as it is stored: loaded, or just saved."""
        if not isinstance(aggregate, BaseAggregate) or aggregate.pending_events:
            return
        clone = _copy(aggregate)
        with self._lock:
            current = self._kept.get(clone.id)
            if current is not None and current.version > clone.version:
                return
            self._kept[clone.id] = clone
            self._kept.move_to_end(clone.id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
