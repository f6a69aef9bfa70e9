"""The eventsourcing Application that stores the ledger's aggregates.

Its recorders are eventsourcing's own, with one addition: a purchase's wrapped
data key (R14, `ledger.keys`) is written by the same transaction as the
purchase's events (``save(..., wrapped_keys=[...])``), so buying costs one
write, not two, and a data key is stored exactly when the events sealed
under it are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import Environment, get_topic

from ledger.mapper import CompactJSONTranscoder, PydanticMapper

__all__ = ["CACHE_SIZE", "EventStore", "WrappedKeyRow"]

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


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        keys: Sequence[WrappedKeyRow] = kwargs.get("wrapped_keys", ())
        if keys:
            c.executemany(_UPSERT_KEY.format(table="ledger_wrapped_keys", p="?"), list(keys))
        return super()._insert_events(c, stored_events, **kwargs)


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # Runs inside eventsourcing's pipelined insert transaction, before its table lock.
        keys: Sequence[WrappedKeyRow] = kwargs.get("wrapped_keys", ())
        if keys:
            table = f'"{self.datastore.schema or "public"}".ledger_wrapped_keys'
            curs.executemany(_UPSERT_KEY.format(table=table, p="%s"), list(keys))
        super()._insert_events(curs, stored_events, **kwargs)


_RECORDERS = {
    "eventsourcing.sqlite": get_topic(LedgerSQLiteRecorder),
    "eventsourcing.postgres": get_topic(LedgerPostgresRecorder),
}


class EventStore(Application[UUID]):
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
