"""How far the views are, and rebuilding them from the history (§6).

Whoever operates the store uses these (they take no actor), like the audit API.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ledger import _validate
from ledger.application.core import LedgerCore
from ledger.errors import ProjectionError
from ledger.faults import guarded
from ledger.projections.follower import OnApplied, follow
from ledger.projections.rebuild import rebuild_live_views
from ledger.projections.replay import Progress
from ledger.projections.sql import parse_timestamp
from ledger.sealing import split
from ledger.values import Actor, ViewsStatus, actor_or_name

__all__ = ["ViewsControl"]


class ViewsControl(LedgerCore):
    @guarded
    def views_status(self) -> ViewsStatus:
        """``position`` (last event applied), ``head`` (last stored), and the lag between them.

        In inline mode the views are brought up to date first, as for any query.
        """
        if self._mode == "inline":
            self._updater.catch_up()
        events = self._uow.events
        position, _ = self._views.chain_head()
        head = events.recorder.max_notification_id() or 0
        lag_events = _count_after(events.recorder, position) if head > position else 0
        lag_seconds = 0.0
        stopped: ProjectionError | None = None
        if head > position:
            first = events.recorder.select_notifications(
                start=position, limit=1, inclusive_of_start=False
            )
            if first:
                lag_seconds = self._age(bytes(first[0].state))
                _, stopped = self._updater.check(first, self._views.chain_head()[1], position)
        return ViewsStatus(
            mode=self._mode,
            position=position,
            head=head,
            lag_events=lag_events,
            lag_seconds=lag_seconds,
            stopped_at=None if stopped is None else stopped.position,
            problem=None if stopped is None else stopped.problem,
        )

    def _age(self, state: bytes) -> float:
        """Seconds since an event was recorded (by its own timestamp and this ledger's clock)."""
        try:
            recorded = parse_timestamp(json.loads(split(state)[0])["timestamp"])
        except (ValueError, KeyError, TypeError):
            return 0.0
        return max(0.0, (self._uow.now() - recorded).total_seconds())

    def follow(
        self,
        stop: threading.Event | None = None,
        *,
        poll_interval: float = 0.05,
        on_applied: OnApplied | None = None,
    ) -> None:
        """Keep the views of this store up to date until ``stop`` is set (``ledger views follow``).

        Run it in a process of its own beside ``views="follower"`` ledgers; several
        may run at once. ``on_applied(n)`` is called after each pass.
        """
        follow(
            self._updater,
            self._uow.events.recorder,
            stop or threading.Event(),
            poll_interval=poll_interval,
            on_applied=on_applied,
        )

    @guarded
    def rebuild_views(
        self, progress: Progress | None = None, *, actor: Actor | str | None = None
    ) -> ViewsStatus:
        """Rebuild the live views from the whole history in bounded memory.

        Queries keep reading the old views until the rebuilt ones replace them in
        one transaction. ``progress(done, total)`` is called as the replay goes.
        The rebuild is an admin action in the trail (R21), with ``actor`` when given.
        """
        _validate.progress("progress", progress)
        self._trail.admin(actor_or_name(actor), "rebuild_views", self._uow.now())
        built = rebuild_live_views(self._uow.events, self._views, self._updater.trust, progress)
        self._updater.failure = built.failure
        return self.views_status()


def _count_after(recorder: Any, position: int) -> int:
    """How many events are stored after ``position`` (PostgreSQL ids have gaps: count them)."""
    datastore = recorder.datastore
    table = recorder.events_table_name
    if hasattr(datastore, "schema"):
        sql = f'SELECT COUNT(*) AS n FROM "{datastore.schema}".{table} WHERE notification_id > %s'
    else:
        sql = f"SELECT COUNT(*) AS n FROM {table} WHERE rowid > ?"
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(sql, (position,))
        return int(cursor.fetchone()["n"])
