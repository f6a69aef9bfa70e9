"""R18d: the chain links, one row per applied event, written with the views.

The algorithm (the seal of each event and how links chain) is `ledger.sealing`;
this table keeps the link the projector computed for each position, in the
same transaction as the views and their tracking record, so ``verify`` can
tell a deleted or moved row from an untouched one without a digest.
"""

from __future__ import annotations

from ledger.projections.sql import Statement

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_audit_chain} ("
    " position BIGINT PRIMARY KEY, hash TEXT NOT NULL)",
)

LAST_LINK = "SELECT position, hash FROM {ledger_audit_chain} ORDER BY position DESC LIMIT 1"


def insert_link(position: int, chain_hash: str) -> Statement:
    return ("INSERT INTO {ledger_audit_chain} VALUES (?, ?)", (position, chain_hash))
