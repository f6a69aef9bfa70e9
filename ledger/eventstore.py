"""The eventsourcing Application that stores the ledger's aggregates."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper
from eventsourcing.utils import Environment

from ledger.mapper import CompactJSONTranscoder, PydanticMapper


class EventStore(Application[UUID]):
    # Pinned: the name prefixes PostgreSQL tables (ledger_events) and tracking records.
    name = "Ledger"

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the configuration built by ledger.stores; os.environ would let a
        # stray CIPHER_KEY or PERSISTENCE_MODULE in the shell change the store.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return PydanticMapper(transcoder=CompactJSONTranscoder())
