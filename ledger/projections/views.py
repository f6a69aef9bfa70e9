"""The materialised views as one eventsourcing tracking recorder per store.

All four views, and the audit hash chain, are updated in ONE transaction
together with the tracking record, so each event is applied exactly once: a
second process that tries to apply the same notifications fails on the
tracking row and rolls back.
(One recorder, not four: eventsourcing's SQLite tracking table is keyed by
the upstream application alone, so four recorders in one file would share a
row and skip each other's events.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from ledger.aggregates.base import LedgerEvent
from ledger.projections import (
    activity_log,
    audit_chain,
    monthly_credits,
    refund_requests,
    software_list,
)
from ledger.projections.sql import Dialect, Params, Row, Statement

Handler = Callable[[LedgerEvent, int], list[Statement]]

PROJECTIONS = (software_list, activity_log, monthly_credits, refund_requests)
HANDLERS: tuple[Handler, ...] = tuple(p.handle for p in PROJECTIONS)
VIEW_DDL: tuple[str, ...] = tuple(statement for p in PROJECTIONS for statement in p.DDL)
DDL: tuple[str, ...] = VIEW_DDL + audit_chain.DDL


def statements_for(event: LedgerEvent, position: int) -> list[Statement]:
    return [statement for handler in HANDLERS for statement in handler(event, position)]


class LedgerViews:
    """What the facade needs from a view store, whichever database holds it."""

    dialect: Dialect
    datastore: Any

    def apply(self, batch: Sequence[tuple[LedgerEvent, Notification]], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            # Tracking first: it is a write, so it takes SQLite's write lock (or the
            # PostgreSQL row lock) before anything is read, and a racing projector
            # fails here instead of reading a chain head that is about to move.
            self._insert_tracking(cursor, tracking)
            cursor.execute(self.dialect.render(audit_chain.LAST_LINK), ())
            head = cursor.fetchone()
            chain_hash = audit_chain.GENESIS if head is None else head["hash"]
            with self._pipelined(cursor):
                for event, notification in batch:
                    statements = statements_for(event, notification.id)
                    chain_hash = audit_chain.link(chain_hash, notification)
                    statements.append(audit_chain.insert_link(notification.id, chain_hash))
                    for template, params in statements:
                        cursor.execute(self.dialect.render(template), params)

    def _pipelined(self, cursor: Any) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def query(self, template: str, params: Params) -> list[Row]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.dialect.render(template), params)
            return list(cursor.fetchall())

    if TYPE_CHECKING:  # provided by the eventsourcing tracking recorder it is mixed into

        def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None: ...

        def max_tracking_id(self, application_name: str) -> int | None: ...


class SQLiteLedgerViews(SQLiteTrackingRecorder, LedgerViews):
    dialect = Dialect("sqlite")

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        return [*statements, *(self.dialect.render(ddl) for ddl in DDL)]


class PostgresLedgerViews(PostgresTrackingRecorder, LedgerViews):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, tracking_table_name="ledger_views_tracking")
        self.dialect = Dialect("postgres", schema=self.datastore.schema)
        self.sql_create_statements.extend(Composed([SQL(self.dialect.render(ddl))]) for ddl in DDL)

    def _pipelined(self, cursor: Any) -> contextlib.AbstractContextManager[Any]:
        # One round trip per batch instead of one per statement.
        return cast(contextlib.AbstractContextManager[Any], cursor.connection.pipeline())


def construct_views(factory: Any, kind: str) -> LedgerViews:
    """Build the view recorder on the event store's own datastore, creating its tables.

    Two processes that create a fresh SQLite file at the same moment both try to
    write eventsourcing's tracking-table marker; the loser finds the tables in
    place on its next attempt.
    """
    view_class = PostgresLedgerViews if kind == "postgres" else SQLiteLedgerViews
    for attempt in range(3):
        try:
            return cast(LedgerViews, factory.tracking_recorder(view_class))
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
