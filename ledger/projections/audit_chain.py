"""R18d: a hash chain over the event log, one link per stored event.

Each link hashes the previous link with the event exactly as stored
(position, originator, version, topic, state bytes), so editing, reordering
or deleting any stored event breaks every later link. The links are written
in the same transaction as the views; the head (position + hash) is the
digest an auditor keeps outside the database.
"""

from __future__ import annotations

import hashlib
from typing import Protocol
from uuid import UUID

from ledger.projections.sql import Statement

GENESIS = hashlib.sha256(b"ledger audit chain v1").hexdigest()

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_audit_chain} ("
    " position BIGINT PRIMARY KEY, hash TEXT NOT NULL)",
)

LAST_LINK = "SELECT position, hash FROM {ledger_audit_chain} ORDER BY position DESC LIMIT 1"


class StoredRecord(Protocol):
    """The fields of an eventsourcing Notification the chain covers."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes | str: ...


def link(previous: str, record: StoredRecord) -> str:
    digest = hashlib.sha256(bytes.fromhex(previous))
    fields = (record.id, record.originator_id, record.originator_version, record.topic, "")
    digest.update("\x1f".join(str(field) for field in fields).encode())
    state = record.state
    # A hand-edited row can come back as text; hash what is there rather than fail.
    digest.update(state.encode() if isinstance(state, str) else bytes(state))
    return digest.hexdigest()


def insert_link(position: int, chain_hash: str) -> Statement:
    return ("INSERT INTO {ledger_audit_chain} VALUES (?, ?)", (position, chain_hash))
