"""Brings the views up to date with the event log (pull, check, batch, track).

Inline mode calls `catch_up` before it answers a query, which gives
read-your-writes on every store; a follower process calls it in a loop
(`ledger.projections.follower`). Each event is checked before it is applied
or linked: its seal (R18) and then its decoding. An event that fails stops
the views just before it (`ProjectionError`, R15) instead of failing the
caller: commands never need the views, and queries report the position.
Applying the same events twice is impossible: the tracking record and the
chain head make a second projector's transaction fail and roll back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    OperationalError,
    PersistenceError,
    Tracking,
)

from ledger import digests
from ledger.aggregates.base import LedgerEvent
from ledger.errors import EventDecodingError, ProjectionError
from ledger.eventstore import EventStoreApplication
from ledger.mapper import PydanticMapper
from ledger.merkle import Frontier
from ledger.projections import audit_tree
from ledger.projections.sql import Params, Row, Statement
from ledger.projections.views import Applied, LedgerViews, ViewsMoved
from ledger.sealing import Trust

BATCH_SIZE = 5000
# A busy SQLite writer or a racing projector: back off briefly, then re-read the position.
MAX_CONFLICTS = 50
BACKOFF_SECONDS = 0.01
# An OperationalError comes after the store's own lock timeout (or from a dropped
# connection): a few more tries, not fifty waits of the whole timeout.
MAX_STORE_FAULTS = 3
#: PostgreSQL: after this many events applied by one updater, refresh the planner's
#: statistics. A catch-up of a large backlog (a first open, a follower started late)
#: otherwise leaves tables of a million rows planned as if nearly empty (a bitmap scan
#: and a sort of every matching row, 85 ms for a page of 100 at 1M entries) until
#: autovacuum analyzes them, and a server may run without autovacuum.
ANALYZE_AFTER = 50_000


class ViewUpdater:
    def __init__(
        self, events: EventStoreApplication, views: LedgerViews, trust: Trust | None = None
    ) -> None:
        self._events = events
        mapper = events.mapper
        assert isinstance(mapper, PydanticMapper)
        self._mapper = mapper
        self._views = views
        self.trust = trust or Trust(None)
        self._lock = threading.Lock()
        #: Where the views stop, and why, after the last catch-up; None when they are whole.
        self.failure: ProjectionError | None = None
        self._unanalyzed = 0  # events applied since the statistics were last refreshed
        #: (position, chain head, tree frontier) after the last batch this updater applied:
        #: the next batch starts from it without reading the tree's peaks again.
        self._tree: tuple[int, str, Frontier] | None = None
        #: (tree size, signed_at) of the last digest published, once read.
        self._last_digest: tuple[int, int] | None = None
        self.digest_every_events = audit_tree.DIGEST_EVERY_EVENTS
        self.digest_every_seconds = audit_tree.DIGEST_EVERY_SECONDS
        # Both eventsourcing recorders (SQLite and PostgreSQL) name their table here.
        recorder: Any = events.recorder
        self._head = views.head_statement(recorder.events_table_name)

    @property
    def name(self) -> str:
        return self._events.name

    def decode(self, notification: Notification) -> LedgerEvent:
        event = self._events.mapper.to_domain_event(notification)
        assert isinstance(event, LedgerEvent)
        return event

    def position(self) -> int:
        return self._views.max_tracking_id(self._events.name) or 0

    def read_if_current(self, template: str, params: Params) -> list[Row] | None:
        """A view query's rows, read with the check that the views hold the whole log.

        The cheap path of inline mode: one round trip when nothing is new (a query
        used to pay two reads, the chain head and the log after it, to learn that).
        None when the log holds events the views do not: then `catch_up` and read again.
        """
        rows = self._views.query_if_current(self._head, template, params)
        if rows is not None:
            # Views at the log's head are whole: no stop left to report.
            self.failure = None
        return rows

    def check(
        self,
        batch: Sequence[Notification],
        head: str,
        after: int,
        tree: Frontier | None = None,
    ) -> tuple[list[Applied], ProjectionError | None]:
        """The batch's events up to the first one that fails its seal or decoding.

        With ``tree`` (the Merkle frontier at ``after``, grown in place) every step
        also carries its leaf and the nodes it completes.
        """
        walker = self.trust.walker(head, after, tree)
        good: list[Applied] = []
        for notification in batch:
            step = walker.step(notification)
            if step.problem is not None:
                return good, ProjectionError(notification.id, step.problem)
            try:
                event = self._mapper.decode(notification, step.body)
            except EventDecodingError as error:
                return good, ProjectionError(notification.id, str(error))
            assert isinstance(event, LedgerEvent)
            good.append((event, notification, step))
        return good, None

    def catch_up(self, limit: int | None = None) -> int:
        """Apply the events recorded so far (at most ``limit``); returns how many this call applied.

        Never raises for a damaged event: `failure` says where the views stopped.
        """
        applied = self._catch_up(limit)
        self._count_applied(applied)
        return applied

    def _count_applied(self, applied: int) -> None:
        self._unanalyzed += applied
        if self._unanalyzed < ANALYZE_AFTER or self._views.dialect.name != "postgres":
            return  # SQLite plans the B3 queries well without statistics; PostgreSQL does not
        self._unanalyzed = 0
        # Only the plans depend on it: a failure here must not fail the caller's query.
        with contextlib.suppress(PersistenceError):
            self._views.refresh_statistics()

    def _catch_up(self, limit: int | None) -> int:
        applied = 0
        conflicts = 0
        faults = 0
        single = False  # after a batch failed to apply: one event per transaction to find it
        with self._lock:
            while limit is None or applied < limit:
                after, head = self._views.chain_head()
                size = 1 if single else BATCH_SIZE
                if limit is not None:
                    size = min(size, limit - applied)
                batch = self._events.recorder.select_notifications(
                    start=after, limit=size, inclusive_of_start=False
                )
                if not batch:
                    self.failure = None
                    return applied
                tree = self._tree_at(after, head)
                if tree is None:  # another projector moved the views between two reads
                    conflicts += 1
                    if conflicts > MAX_CONFLICTS:
                        raise ViewsMoved(after)
                    continue
                good, failure = self.check(batch, head, after, tree)
                if good:
                    try:
                        self._apply(good, after, tree)
                    except (ViewsMoved, IntegrityError, OperationalError) as error:
                        moved = self._views.chain_head()[0] != after
                        if moved or isinstance(error, ViewsMoved | OperationalError):
                            conflicts += 1
                            faults += isinstance(error, OperationalError)
                            if conflicts > MAX_CONFLICTS or faults > MAX_STORE_FAULTS:
                                raise
                            time.sleep(BACKOFF_SECONDS * min(conflicts, 10))
                            continue
                        failure = self._unappliable(good, error)
                        if failure is None:
                            single = True
                            continue
                        good = []
                    except Exception as error:  # a handler that cannot project this event
                        failure = self._unappliable(good, error)
                        if failure is None:
                            single = True
                            continue
                        good = []
                    applied += len(good)
                    single = False
                if failure is not None:
                    self.failure = failure
                    return applied
            return applied

    def apply_delivered(self, batch: Sequence[Notification]) -> int | None:
        """Apply notifications a subscription delivered, in one transaction when they follow on.

        Returns how many were applied, or None when they do not simply follow the
        views' position (another follower got there first, the views moved, an
        event fails): the caller then pulls with `catch_up`, which sorts it out.
        """
        with self._lock:
            after, head = self._views.chain_head()
            fresh = [n for n in batch if n.id > after]
            if not fresh:
                return 0
            if fresh[0].id != after + 1:
                # PostgreSQL ids have gaps: make sure nothing unseen lies in between.
                first = self._events.recorder.select_notifications(
                    start=after, limit=1, inclusive_of_start=False
                )
                if not first or first[0].id != fresh[0].id:
                    return None
            tree = self._tree_at(after, head)
            if tree is None:
                return None
            good, failure = self.check(fresh, head, after, tree)
            if failure is not None or not good:
                return None
            try:
                self._apply(good, after, tree)
            except (ViewsMoved, IntegrityError, OperationalError):
                return None
            self.failure = None
            self._count_applied(len(good))
            return len(good)

    def _tree_at(self, after: int, head: str) -> Frontier | None:
        """A copy of the tree's frontier at position ``after``; None if the stored tree is
        elsewhere (another projector moved on between the two reads)."""
        cached = self._tree
        if cached is not None and cached[0] == after and cached[1] == head:
            return cached[2].copy()
        try:
            position, frontier = audit_tree.frontier_at(self._views.query)
        except audit_tree.MissingNode as missing:
            raise ProjectionError(after, f"the audit tree is damaged: {missing}") from None
        return frontier if position == after else None

    def _apply(self, good: list[Applied], after: int, tree: Frontier) -> None:
        """One transaction: the views, chain links, tree rows and a digest when one is due."""
        key = self.trust.key
        rows: list[Statement] = [
            audit_tree.tree_row(key, notification.id, step) for _, notification, step in good
        ]
        last = good[-1][2]
        published = self._digest_due(tree.size) if key is not None else None
        if published is not None:
            assert key is not None
            root = tree.root().hex()
            signature = digests.sign_digest(
                key, last.position, last.link, tree.size, root, published
            )
            rows.append(
                audit_tree.insert_digest(
                    tree.size, last.position, last.link, root, published, signature
                )
            )
        self._views.apply(good, after, Tracking(self.name, last.position), rows)
        self._tree = (last.position, last.link, tree)
        if published is not None:
            self._last_digest = (tree.size, published)

    def _digest_due(self, size: int) -> int | None:
        """The signing time when a digest is due at this tree size, else None."""
        now = int(time.time())
        for fresh in (False, True):
            if self._last_digest is None or fresh:
                rows = self._views.query(audit_tree.LAST_DIGEST, ())
                self._last_digest = (
                    (int(rows[0]["tree_size"]), int(rows[0]["signed_at"])) if rows else (0, 0)
                )
            last_size, signed_at = self._last_digest
            if size <= last_size:
                return None
            due = (
                size - last_size >= self.digest_every_events
                or now - signed_at >= self.digest_every_seconds
            )
            if not due:
                return None
        return now

    @staticmethod
    def _unappliable(good: list[Applied], error: BaseException) -> ProjectionError | None:
        """The error of the one event that failed to apply; None: narrow the batch down first."""
        if len(good) > 1:
            return None
        if isinstance(error, IntegrityError):
            return ProjectionError(
                good[0][1].id,
                "cannot be applied to the views: it repeats what they already hold (an event"
                f" deleted and stored again, or copied?): {error}",
            )
        return ProjectionError(good[0][1].id, f"cannot be applied to the views: {error}")
