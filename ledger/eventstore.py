"""`EventStoreApplication`: the eventsourcing ``Application`` that stores the ledger's events.

It is the only eventsourcing ``Application`` here: the public facade,
`ledger.application.Ledger`, is not one; it runs its commands on this.

Its recorders are eventsourcing's own, with one addition: a purchase's wrapped
data key (R14, `ledger.keys`) is written by the same transaction as the
purchase's events (``save(..., wrapped_keys=[...])``), so buying costs one
write, not two, and a data key is stored exactly when the events sealed
under it are.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import psycopg
import psycopg_pool
import psycopg_pool.base
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    Mapper,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    Recording,
    StoredEvent,
)
from eventsourcing.postgres import ConnectionPool as PostgresConnectionPool
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import Environment, get_topic
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier

from ledger.aggregates.base import LedgerEvent
from ledger.faults import once_more
from ledger.mapper import CompactJSONTranscoder, PydanticMapper

__all__ = ["CACHE_SIZE", "EventStoreApplication", "LedgerPostgresFactory", "WrappedKeyRow"]

#: (name, key_id, wrapped): one row of ``ledger_wrapped_keys``.
WrappedKeyRow = tuple[str, str, str]

#: Aggregates kept in memory between commands (each is brought forward from the store
#: before every use; see docs/decisions.md, "Performance: the command path").
CACHE_SIZE = 4096

# A row replaced here belongs to no stored event: the events inserted by the same
# transaction are the first of their order (its version 1 is unique), so a key row
# already under that name is one whose events never committed (an attempt cut short).
_UPSERT_KEY = (
    "INSERT INTO {table} (name, key_id, wrapped) VALUES ({p}, {p}, {p})"
    " ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, wrapped = excluded.wrapped"
)


def _write_keys(cursor: Any, table: str, placeholder: str, kwargs: Mapping[str, Any]) -> None:
    """The ``wrapped_keys=`` rows of a save, in its insert transaction."""
    keys: Sequence[WrappedKeyRow] = kwargs.get("wrapped_keys", ())
    if keys:
        cursor.executemany(_UPSERT_KEY.format(table=table, p=placeholder), list(keys))


def _events_after(
    after: Mapping[UUID, int], placeholder: str, id_param: Callable[[UUID], Any]
) -> tuple[str, list[Any]]:
    """The WHERE clause and parameters: each aggregate's events after its version."""
    one = f"(originator_id = {placeholder} AND originator_version > {placeholder})"
    params: list[Any] = []
    for originator_id, version in after.items():
        params += (id_param(originator_id), version)
    return " OR ".join([one] * len(after)), params


_SQLITE_ERRORS: tuple[tuple[type[sqlite3.Error], type[PersistenceError]], ...] = (
    (sqlite3.InterfaceError, InterfaceError),
    (sqlite3.DataError, DataError),
    (sqlite3.OperationalError, OperationalError),
    (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.InternalError, InternalError),
    (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError),
    (sqlite3.DatabaseError, DatabaseError),
)


def _persistence_error(error: sqlite3.Error) -> PersistenceError:
    """eventsourcing's class for a sqlite3 error (what its SQLite transactions raise)."""
    for raw, ours in _SQLITE_ERRORS:
        if isinstance(error, raw):
            return ours(error)
    return PersistenceError(error)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def select_events_after(self, after: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """The events of several aggregates, each after a version, in one query."""
        if not after:
            return {}
        where, params = _events_after(after, "?", lambda originator_id: originator_id.hex)
        statement = (
            "SELECT originator_id, originator_version, topic, state"
            f" FROM {self.events_table_name} WHERE {where}"
            " ORDER BY originator_id, originator_version"
        )
        found: dict[UUID, list[StoredEvent]] = {}
        # One statement, so no BEGIN … ROLLBACK around it: in autocommit mode a lone
        # SELECT is its own (deferred, read) transaction and sees one snapshot.
        with self.datastore.get_connection(commit=False) as conn, conn.cursor() as c:
            try:
                c.execute(statement, params)
                rows = c.fetchall()
            except sqlite3.Error as error:  # as eventsourcing's transaction would raise it
                raise _persistence_error(error) from error
        for row in rows:
            originator_id = UUID(row["originator_id"])
            found.setdefault(originator_id, []).append(
                StoredEvent(originator_id, row["originator_version"], row["topic"], row["state"])
            )
        return found

    def select_notifications_of(self, stream_ids: Sequence[UUID]) -> list[Notification]:
        """Every stored event of these streams, in log order (by primary key, not a scan)."""
        return self._notifications_where("originator_id", [stream.hex for stream in stream_ids])

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The stored events at these positions, in log order."""
        return self._notifications_where("rowid", list(positions))

    def _notifications_where(self, column: str, values: list[Any]) -> list[Notification]:
        if not values:
            return []
        marks = ",".join("?" * len(values))
        statement = (
            f"SELECT rowid, originator_id, originator_version, topic, state"
            f" FROM {self.events_table_name} WHERE {column} IN ({marks}) ORDER BY rowid"
        )
        with self.datastore.get_connection(commit=False) as conn, conn.cursor() as c:
            try:
                c.execute(statement, values)
                rows = c.fetchall()
            except sqlite3.Error as error:
                raise _persistence_error(error) from error
        return [
            Notification(
                id=row["rowid"],
                originator_id=UUID(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in rows
        ]

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        _write_keys(c, "ledger_wrapped_keys", "?", kwargs)
        return super()._insert_events(c, stored_events, **kwargs)


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    # eventsourcing tries these ten times, 0.2 s apart, each try waiting up to the
    # pool's timeout: a minute and more against a server that is down. Once more on a
    # fresh connection rides out a dropped one; a timeout that has run out is final.
    select_notifications = once_more(PostgresApplicationRecorder.select_notifications.__wrapped__)
    max_notification_id = once_more(PostgresApplicationRecorder.max_notification_id.__wrapped__)
    select_events = once_more(PostgresApplicationRecorder.select_events.__wrapped__)

    @once_more
    def select_events_after(self, after: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """The events of several aggregates, each after a version, in one query."""
        if not after:
            return {}
        where, params = _events_after(after, "%s", lambda originator_id: originator_id)
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table}"
            f" WHERE {where} ORDER BY originator_id, originator_version"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            for row in curs.fetchall():
                found.setdefault(row["originator_id"], []).append(
                    StoredEvent(
                        row["originator_id"],
                        row["originator_version"],
                        row["topic"],
                        bytes(row["state"]),
                    )
                )
        return found

    def select_notifications_of(self, stream_ids: Sequence[UUID]) -> list[Notification]:
        """Every stored event of these streams, in log order (by primary key, not a scan)."""
        return self._notifications_where("originator_id", list(stream_ids))

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The stored events at these positions, in log order."""
        return self._notifications_where("notification_id", list(positions))

    @once_more
    def _notifications_where(self, column: str, values: list[Any]) -> list[Notification]:
        if not values:
            return []
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM {schema}.{table} WHERE {column} = ANY(%s) ORDER BY notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            column=Identifier(column),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [values])
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    @once_more
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """eventsourcing's insert transaction, sent as one round trip, COMMIT included.

        The same statements as eventsourcing's (lock the events table, notify, insert
        returning the notification ids), but the COMMIT is queued in the same pipeline
        instead of following a round trip for the ids: the table lock, which every
        writer waits for, is no longer held while this process reads the ids and sends
        the COMMIT. If any statement fails the server skips the rest, COMMIT included;
        the transaction is rolled back and the error raised (a unique violation as
        eventsourcing's ``IntegrityError``, by the datastore).
        """
        if not stored_events:
            return []
        failure: psycopg.Error | None = None
        ids: list[int] = []
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline() as pipeline:
                    try:
                        with conn.cursor() as curs:
                            curs.execute("BEGIN")
                            self._insert_events(curs, stored_events, **kwargs)
                        with conn.cursor() as curs, conn.cursor() as ending:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                            ending.execute("COMMIT")
                            pipeline.sync()
                            ids = [row["notification_id"] for row in curs.fetchall()]
                    except psycopg.Error as error:
                        failure = error  # raised after the pipeline has ended (no warning)
            except psycopg.errors.PipelineAborted:
                # The pipeline's end reports the statements the server skipped after
                # the one that failed; the first failure (a lost race) is the answer.
                if failure is None:
                    raise
            if failure is not None:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.rollback()
                raise failure
        if len(ids) != len(stored_events):
            msg = f"got {len(ids)} notification ids for {len(stored_events)} events"
            raise ProgrammingError(msg)
        return ids

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # Runs inside the pipelined insert transaction, before the table lock.
        table = f'"{self.datastore.schema or "public"}".ledger_wrapped_keys'
        _write_keys(curs, table, "%s", kwargs)
        super()._insert_events(curs, stored_events, **kwargs)


class LedgerPostgresFactory(PostgresFactory):
    """eventsourcing's factory, its connections bounded by the URL's timeouts (R21).

    Every connection of the pool is opened with libpq's ``connect_timeout`` and
    with the session's ``lock_timeout`` and ``statement_timeout``
    (``LEDGER_SESSION_OPTIONS``, made by `ledger.stores`), so no statement waits without bound for a
    lock another session holds, or for a server that stopped answering.
    """

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs["connect_timeout"] = int(env.get("POSTGRES_CONNECT_TIMEOUT") or 5)
        # Several hosts (a Patroni cluster): which one libpq settles on, e.g. the primary.
        kwargs["target_session_attrs"] = env.get("LEDGER_TARGET_SESSION_ATTRS") or "any"
        kwargs["options"] = env.get("LEDGER_SESSION_OPTIONS") or ""
        pool = self.datastore.pool
        pool._check = _sweeping_check(weakref.ref(pool))
        # Built by eventsourcing as its own class; ours only changes how soon a lost
        # connection is tried again (no state of its own), so the class is swapped.
        pool.__class__ = _PromptlyReconnectingPool


class _PromptReconnection(psycopg_pool.base.AttemptWithBackoff):
    """At most half a second between tries to replace a lost connection.

    psycopg_pool doubles its wait after each failed try (1 s, 2 s, 4 s, …): a server
    back after ten seconds down was not used for up to eight more. A try that the
    server refuses costs it next to nothing.
    """

    INITIAL_DELAY = 0.25
    MAX_DELAY = 0.5

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, self.MAX_DELAY)


class _PromptlyReconnectingPool(PostgresConnectionPool[Any]):
    def _add_connection(
        self, attempt: psycopg_pool.base.AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        if attempt is None:
            attempt = _PromptReconnection(timeout=self.reconnect_timeout)
        super()._add_connection(attempt, growing)


def _sweeping_check(pool_ref: weakref.ref[Any]) -> Callable[[Any], None]:
    """The pool's check of a connection before it is lent, sweeping the pool when one fails.

    After a server restart every pooled connection is dead. psycopg_pool finds them one
    at a time and waits 1 s, 2 s, ... between finds; the first command after the restart
    took 3 s and more. One dead connection means the others are suspect: they are all
    checked (and the dead replaced) at once, so the retry gets a fresh connection.
    """

    def check(conn: Any) -> None:
        pool = pool_ref()
        try:
            psycopg_pool.ConnectionPool.check_connection(conn)
        except Exception:
            if pool is not None:
                pool.check()
            raise

    return check


POSTGRES_FACTORY = get_topic(LedgerPostgresFactory)

_RECORDERS = {
    "eventsourcing.sqlite": get_topic(LedgerSQLiteRecorder),
    POSTGRES_FACTORY: get_topic(LedgerPostgresRecorder),
}


class EventStoreApplication(Application[UUID]):
    # Pinned: the name prefixes PostgreSQL tables (ledger_events) and tracking records.
    name = "Ledger"

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the configuration built by ledger.stores; os.environ would let a
        # stray CIPHER_KEY or PERSISTENCE_MODULE in the shell change the store.
        settings = dict(env or {})
        recorder = _RECORDERS.get(settings.get("PERSISTENCE_MODULE", ""))
        if recorder is not None:
            settings.setdefault("APPLICATION_RECORDER_TOPIC", recorder)
        return Environment(name, settings)

    def construct_mapper(self) -> Mapper[UUID]:
        return PydanticMapper(transcoder=CompactJSONTranscoder())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """`Application.save`, telling aggregates from events by their classes.

        eventsourcing's own collection asks ``isinstance`` of two runtime-checkable
        protocols per object, which scans the object's attributes: about a tenth of
        a command on the in-memory store. Anything that is neither a ledger
        aggregate nor a ledger event is collected the library's way.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            elif isinstance(obj, LedgerEvent):
                processing_event.events.append(obj)
            elif obj is not None:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)
        return recordings
