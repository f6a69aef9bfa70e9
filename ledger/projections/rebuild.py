"""Rebuilding the live views from the history without a query ever seeing half of them (§6).

The history is replayed into a shadow copy of the view tables in the same
database (``ledger_software__rebuild`` ...), a batch per transaction, so
memory stays bounded and the live views keep answering. Then one
transaction locks the tracking row (projectors wait), replays whatever was
applied live meanwhile into the shadow too, and replaces the live rows with
the shadow's: queries see the old views until that commit and the new ones
after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.eventstore import EventStoreApplication
from ledger.projections.replay import TABLE_DDL, Progress, Replayed, replay
from ledger.projections.sql import TABLES, Dialect, Statement, execute_all
from ledger.projections.views import LedgerViews
from ledger.sealing import Trust

__all__ = ["rebuild_live_views"]

SHADOW = "__rebuild"


class _ShadowWriter:
    """Writes replayed statements into the shadow tables, one transaction per batch."""

    def __init__(self, views: LedgerViews, dialect: Dialect, cursor: Any = None) -> None:
        self._views = views
        self._dialect = dialect
        self._cursor = cursor

    def write(self, statements: Sequence[Statement]) -> None:
        if self._cursor is not None:
            self._execute(self._cursor, statements)
            return
        with self._views.datastore.transaction(commit=True) as cursor:
            self._execute(cursor, statements)

    def _execute(self, cursor: Any, statements: Sequence[Statement]) -> None:
        with self._views._pipelined(cursor):
            execute_all(cursor, self._dialect, statements)


def rebuild_live_views(
    events: EventStoreApplication,
    views: LedgerViews,
    trust: Trust,
    progress: Progress | None = None,
) -> Replayed:
    """Replace the live views with views rebuilt from the whole history; returns where they stop."""
    shadow = views.dialect.shadow(SHADOW)
    live = views.dialect
    with views.datastore.transaction(commit=True) as cursor:
        for table in TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {shadow.table(table)}", ())
        for ddl in TABLE_DDL:
            cursor.execute(shadow.render(ddl), ())
    built = replay(events, trust, _ShadowWriter(views, shadow), progress=progress)

    with views.datastore.transaction(commit=True) as cursor:
        live_position = views.lock_tracking(cursor, events.name)
        if built.failure is None and live_position > built.position:
            # Applied live while the shadow was being built: bring the shadow level.
            built = replay(
                events,
                trust,
                _ShadowWriter(views, shadow, cursor),
                after=built.position,
                head=built.head,
                tree=built.tree,
                stop=live_position,
            )
        for table in TABLES:
            cursor.execute(f"DELETE FROM {live.table(table)}", ())
            cursor.execute(
                f"INSERT INTO {live.table(table)} SELECT * FROM {shadow.table(table)}", ()
            )
            cursor.execute(f"DROP TABLE {shadow.table(table)}", ())
        # Usually the same position; lower when the rebuilt views stop at a damaged event
        # that the live projector applied before it was damaged.
        views.set_tracking(cursor, events.name, built.position)
    # PostgreSQL otherwise plans the next queries with the old tables' statistics: a page of
    # the activity log went from an index range scan to sorting every matching row.
    views.refresh_statistics()
    return built
