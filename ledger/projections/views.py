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
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from ledger.aggregates.base import LedgerEvent
from ledger.faults import StoreContention, once_more, reading
from ledger.projections import (
    activity_log,
    audit_chain,
    audit_tree,
    customer_list,
    feed,
    monthly_credits,
    refund_requests,
    software_list,
    webhooks,
)
from ledger.projections.sql import TABLES, Dialect, Params, Row, Statement, execute_all
from ledger.sealing import GENESIS, Step

Handler = Callable[[LedgerEvent, int], list[Statement]]

PROJECTIONS = (
    software_list,
    activity_log,
    monthly_credits,
    refund_requests,
    customer_list,
    feed,
    webhooks,
)
HANDLERS: tuple[Handler, ...] = tuple(p.handle for p in PROJECTIONS)
VIEW_DDL: tuple[str, ...] = tuple(statement for p in PROJECTIONS for statement in p.DDL)
DDL: tuple[str, ...] = VIEW_DDL + audit_chain.DDL + audit_tree.DDL


@cache
def _handlers_of(kind: type[LedgerEvent]) -> tuple[Handler, ...]:
    """The handlers that do something with this class of event, resolved once per class."""
    return tuple(
        implementation
        for handler in HANDLERS
        if (implementation := handler.dispatch(kind)) is not handler.dispatch(LedgerEvent)  # type: ignore[attr-defined]
    )


def statements_for(event: LedgerEvent, position: int) -> list[Statement]:
    handlers = _handlers_of(type(event))
    if len(handlers) == 1:
        return handlers[0](event, position)
    return [statement for handler in handlers for statement in handler(event, position)]


class ReadSnapshot:
    """Queries that all see one snapshot of the views (one read transaction)."""

    def __init__(self, dialect: Dialect, cursor: Any) -> None:
        self.dialect = dialect
        self._cursor = cursor

    def query(self, template: str, params: Params) -> list[Row]:
        self._cursor.execute(self.dialect.render(template), params)
        return list(self._cursor.fetchall())

    def chain_head(self) -> tuple[int, str]:
        rows = self.query(audit_chain.LAST_LINK, ())
        if not rows:
            return 0, GENESIS
        return int(rows[0]["position"]), str(rows[0]["hash"])


class ViewsMoved(StoreContention):
    """Another projector applied events since this batch was read: re-read and try again."""


Applied = tuple[LedgerEvent, Notification, Step]


class LedgerViews:
    """What the facade needs from a view store, whichever database holds it."""

    dialect: Dialect
    datastore: Any

    def apply(
        self,
        batch: Sequence[Applied],
        after: int,
        tracking: Tracking,
        extra: Sequence[Statement] = (),
    ) -> None:
        """Apply a checked batch that directly follows position ``after``, with its chain
        links and ``extra`` statements (the audit tree's rows)."""
        with self.datastore.transaction(commit=True) as cursor:
            # Tracking first: it is a write, so it takes SQLite's write lock (or the
            # PostgreSQL row lock) before anything is read. The tracking row refuses a
            # position at or below its own; the chain head catches the other race, a
            # projector that applied a *shorter* batch from the same start.
            self._insert_tracking(cursor, tracking)
            cursor.execute(self.dialect.render(audit_chain.LAST_LINK), ())
            head = cursor.fetchone()
            if (0 if head is None else int(head["position"])) != after:
                raise ViewsMoved(after)
            statements: list[Statement] = []
            for event, notification, _ in batch:
                statements.extend(statements_for(event, notification.id))
            # The links last, so that they form one run of one statement.
            statements.extend(audit_chain.insert_link(n.id, step.link) for _, n, step in batch)
            statements.extend(extra)
            with self._pipelined(cursor):
                execute_all(cursor, self.dialect, statements)

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[ReadSnapshot]:
        with self.datastore.transaction(commit=False) as cursor:
            self._begin_snapshot(cursor)
            yield ReadSnapshot(self.dialect, cursor)

    def _begin_snapshot(self, cursor: Any) -> None:
        """SQLite: a read transaction in WAL mode is already one snapshot."""

    def chain_head(self) -> tuple[int, str]:
        """(position, hash) of the last event applied: (0, GENESIS) before the first."""
        rows = self.query(audit_chain.LAST_LINK, ())
        if not rows:
            return 0, GENESIS
        return int(rows[0]["position"]), str(rows[0]["hash"])

    def _pipelined(self, cursor: Any) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def query(self, template: str, params: Params) -> list[Row]:
        """One read of the views, again on a fresh connection if the database dropped it."""

        def read() -> list[Row]:
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(self.dialect.render(template), params)
                return list(cursor.fetchall())

        return reading(read)

    def head_statement(self, events_table: str) -> str:
        """One statement: the log's highest notification id and the views' position.

        PostgreSQL ids have gaps, but a gap never lies above the highest committed id
        and ids become visible in commit order (the recorder locks the table), so the
        views hold every stored event exactly when their position is at that id.
        """
        return (
            f"SELECT (SELECT MAX({self._log_id}) FROM {self.dialect.table(events_table)}) AS head,"
            " (SELECT position FROM {ledger_audit_chain} ORDER BY position DESC LIMIT 1)"
            " AS position"
        )

    _log_id = "notification_id"

    def query_if_current(self, head: str, template: str, params: Params) -> list[Row] | None:
        """The rows of a view query, or None when the log holds events the views lack.

        ``head`` is the `head_statement`. Both are read together (one round trip where
        the database allows it); when the views are behind the rows are dropped, and the
        caller applies the new events and reads again.
        """
        raise NotImplementedError

    @staticmethod
    def _current(row: Row) -> bool:
        head, position = row["head"], row["position"]
        return head is None or (position is not None and int(position) >= int(head))

    def lock_tracking(self, cursor: Any, application_name: str) -> int:
        """Make projectors wait for this transaction; returns the views' position."""
        raise NotImplementedError

    def refresh_statistics(self) -> None:
        """After every row was replaced: let the query planner see the new tables."""
        with self.datastore.transaction(commit=True) as cursor:
            for table in TABLES:
                cursor.execute(f"ANALYZE {self.dialect.table(table)}", ())

    def set_tracking(self, cursor: Any, application_name: str, position: int) -> None:
        """Move the position to exactly ``position`` (a rebuild may move it back)."""
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by the eventsourcing tracking recorder it is mixed into

        def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None: ...

        def max_tracking_id(self, application_name: str) -> int | None: ...


class SQLiteLedgerViews(SQLiteTrackingRecorder, LedgerViews):
    dialect = Dialect("sqlite")
    # eventsourcing's SQLite log numbers its notifications with the rowid.
    _log_id = "rowid"

    def query_if_current(self, head: str, template: str, params: Params) -> list[Row] | None:
        # In-process, so two statements in one read transaction (which also turns
        # sqlite3's errors into eventsourcing's, as every other read does).
        def read() -> list[Row] | None:
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(self.dialect.render(head))
                if not self._current(cursor.fetchone()):
                    return None
                cursor.execute(self.dialect.render(template), params)
                return list(cursor.fetchall())

        return reading(read)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        return [*statements, *(self.dialect.render(ddl) for ddl in DDL)]

    def lock_tracking(self, cursor: Any, application_name: str) -> int:
        # A write takes SQLite's one write lock; only then is the position read.
        cursor.execute(
            "UPDATE tracking SET notification_id = notification_id WHERE application_name = ?",
            (application_name,),
        )
        cursor.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", (application_name,)
        )
        row = cursor.fetchone()
        return 0 if row is None else int(row[0])

    def set_tracking(self, cursor: Any, application_name: str, position: int) -> None:
        cursor.execute(
            "INSERT INTO tracking (application_name, notification_id) VALUES (?, ?)"
            " ON CONFLICT (application_name) DO UPDATE SET notification_id = ?",
            (application_name, position, position),
        )


class PostgresLedgerViews(PostgresTrackingRecorder, LedgerViews):
    # Once more, not eventsourcing's ten times (see `ledger.faults.once_more`).
    insert_tracking = once_more(PostgresTrackingRecorder.insert_tracking.__wrapped__)
    max_tracking_id = once_more(PostgresTrackingRecorder.max_tracking_id.__wrapped__)
    has_tracking_id = once_more(PostgresTrackingRecorder.has_tracking_id.__wrapped__)

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, tracking_table_name="ledger_views_tracking")
        self.dialect = Dialect("postgres", schema=self.datastore.schema)
        self.sql_create_statements.extend(Composed([SQL(self.dialect.render(ddl))]) for ddl in DDL)

    def _pipelined(self, cursor: Any) -> contextlib.AbstractContextManager[Any]:
        # One round trip per batch instead of one per statement.
        return cast(contextlib.AbstractContextManager[Any], cursor.connection.pipeline())

    def query(self, template: str, params: Params) -> list[Row]:
        # The pool's connections are in autocommit mode: one statement is one round
        # trip, where a read transaction would add a BEGIN and a ROLLBACK.
        def read() -> list[Row]:
            with self.datastore.get_connection() as connection:
                return list(connection.execute(self.dialect.render(template), params).fetchall())

        return reading(read)

    def query_if_current(self, head: str, template: str, params: Params) -> list[Row] | None:
        # Both statements in one pipeline: one round trip. (One statement that joins the
        # query under the check was cheaper, but its rows' order would then rest on the
        # query's ORDER BY inside a subquery, which SQL does not promise to keep.)
        def read() -> list[Row] | None:
            with self.datastore.get_connection() as connection:
                with connection.pipeline():
                    check = connection.execute(self.dialect.render(head))
                    rows = connection.execute(self.dialect.render(template), params)
                if not self._current(check.fetchone()):
                    return None
                return list(rows.fetchall())

        return reading(read)

    def query_if_reached(
        self, application_name: str, target: int, template: str, params: Params
    ) -> tuple[int, list[Row] | None]:
        """The views' position and a query's rows, None for rows while below ``target``.

        For a replica (§12): both in one pipeline, the position first. Each runs in its
        own snapshot, the query's no older than the position's, so rows read at a
        position at or past ``target`` hold every event up to it.
        """

        def read() -> tuple[int, list[Row] | None]:
            with self.datastore.get_connection() as connection:
                with connection.pipeline():
                    check = connection.execute(
                        f"SELECT notification_id FROM {self._tracking_table()}"
                        " WHERE application_name = %s",
                        (application_name,),
                    )
                    rows = connection.execute(self.dialect.render(template), params)
                found = check.fetchone()
                position = 0 if found is None else int(found["notification_id"])
                return position, (list(rows.fetchall()) if position >= target else None)

        return reading(read)

    def _begin_snapshot(self, cursor: Any) -> None:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _tracking_table(self) -> str:
        return f'"{self.datastore.schema or "public"}".{self.tracking_table_name}'

    def lock_tracking(self, cursor: Any, application_name: str) -> int:
        # Blocks every projector's tracking write (not readers) until this commits.
        cursor.execute(f"LOCK TABLE {self._tracking_table()} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            f"SELECT notification_id FROM {self._tracking_table()} WHERE application_name = %s",
            (application_name,),
        )
        row = cursor.fetchone()
        return 0 if row is None else int(row["notification_id"])

    def set_tracking(self, cursor: Any, application_name: str, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self._tracking_table()} (application_name, notification_id)"
            " VALUES (%s, %s) ON CONFLICT (application_name)"
            " DO UPDATE SET notification_id = EXCLUDED.notification_id",
            (application_name, position),
        )


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
