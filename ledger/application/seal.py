"""Turning sealing on for a store at `Ledger.open` (R18).

Every event this ledger writes is sealed by the mapper. A store written
before sealing existed holds only unsealed events: the first time a sealing
version opens it, the whole pre-sealing history is sealed at once by one
sealed `AuditSeal` record naming its last position and chain hash (walked
once, in bounded memory). A store whose log mixes sealed and unsealed rows
without that record is not "upgraded": its unsealed rows stay suspect, and
``verify`` names the first of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ledger.aggregates import AuditSeal
from ledger.errors import EventDecodingError
from ledger.eventstore import EventStoreApplication
from ledger.mapper import PydanticMapper
from ledger.sealing import ChainWalker, Trust, split

__all__ = ["establish_trust"]

_SCAN_BATCH = 1000


def establish_trust(
    events: EventStoreApplication, key: bytes, now: Callable[[], datetime]
) -> Trust:
    """Seal new events with ``key``; seal a pre-sealing history first if the store has one."""
    mapper = events.mapper
    assert isinstance(mapper, PydanticMapper)
    mapper.seal_key = key
    mapper.accept_unsealed = False
    existing = _recorded_seal(events)
    if existing is None and _written_before_sealing(events):
        walked = _walk_unsealed(events)
        if walked is not None:
            through, chain_head = walked
            # Another process may seal it at the same moment: one of the two wins.
            with contextlib.suppress(IntegrityError):
                events.save(AuditSeal.seal_legacy(through, chain_head, now()))
            existing = _recorded_seal(events)
    if existing is None:
        return Trust(key)
    mapper.accept_unsealed = True
    return Trust(key, existing.legacy_through, existing.legacy_chain_head)


def _recorded_seal(events: EventStoreApplication) -> AuditSeal | None:
    try:
        seal: object = events.repository.get(AuditSeal.ID)
    except (AggregateNotFoundError, EventDecodingError):
        # Not there, or not sealed with this key: the unsealed rows stay suspect.
        return None
    return seal if isinstance(seal, AuditSeal) else None


def _written_before_sealing(events: EventStoreApplication) -> bool:
    """Is the newest event unsealed? (Then the store has not been opened by a sealing ledger.)"""
    head = events.recorder.max_notification_id() or 0
    if head == 0:
        return False
    last = events.recorder.select_notifications(start=head, limit=1)
    return bool(last) and split(bytes(last[0].state))[1] is None


def _walk_unsealed(events: EventStoreApplication) -> tuple[int, str] | None:
    """(last position, chain hash) over a log of unsealed rows only; None if any row is sealed."""
    walker = ChainWalker(None)
    position = 0
    while True:
        batch = events.recorder.select_notifications(
            start=position, limit=_SCAN_BATCH, inclusive_of_start=False
        )
        if not batch:
            return walker.position, walker.head
        for notification in batch:
            step = walker.step(notification)
            if step.mac is not None or step.problem is not None:
                return None
        position = batch[-1].id
