"""Each partner's registered customers (R11): one row per registration of a tenant by a partner.

A tenant registered by two partners has two rows, each with that partner's
details, and each partner reads only its own. ``Tenant.Registered`` does not
repeat the tenant id (its stream is named after it), so its row takes the id
from the stream's first registration, which the log always applies first.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any
from uuid import UUID

from ledger.aggregates import Tenant
from ledger.aggregates.base import LedgerEvent
from ledger.projections.sql import Query, Statement, timestamp
from ledger.values import Customer

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_customers} ("
    " registration TEXT PRIMARY KEY, stream_id TEXT NOT NULL, partner_id TEXT NOT NULL,"
    " tenant_id TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL,"
    " market TEXT NOT NULL, registered_by TEXT NOT NULL, registered_at TEXT NOT NULL,"
    " position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_customers_by_partner"
    " ON {ledger_customers} (partner_id, position)",
    "CREATE INDEX IF NOT EXISTS ledger_customers_by_position ON {ledger_customers} (position)",
    "CREATE INDEX IF NOT EXISTS ledger_customers_by_stream ON {ledger_customers} (stream_id)",
)

#: The topics that create or add a registration (what `backfill` looks for).
TOPICS = (Tenant.Added.TOPIC, Tenant.Registered.TOPIC)


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Tenant.Added, position: int) -> list[Statement]:
    return [
        (
            "INSERT INTO {ledger_customers} VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                # The tenant id has a fixed length, so "<tenant>:<partner>" is unambiguous.
                f"{event.tenant_id}:{event.partner_id}",
                str(event.originator_id),
                event.partner_id,
                str(event.tenant_id),
                event.domain,
                event.name,
                event.market,
                event.user,
                timestamp(event.timestamp),
                position,
            ),
        )
    ]


@handle.register
def _(event: Tenant.Registered, position: int) -> list[Statement]:
    return [
        (
            "INSERT INTO {ledger_customers}"
            " SELECT tenant_id || ':' || CAST(? AS TEXT), stream_id, ?, tenant_id, ?, ?, ?, ?, ?, ?"
            " FROM {ledger_customers} WHERE stream_id = ? ORDER BY position LIMIT 1",
            (
                event.partner_id,
                event.partner_id,
                event.domain,
                event.name,
                event.market,
                event.user,
                timestamp(event.timestamp),
                position,
                str(event.originator_id),
            ),
        )
    ]


def for_partner(query: Query, partner_id: str) -> list[Customer]:
    """The partner's customers as it registered them, in the order it registered them."""
    rows = query(
        "SELECT tenant_id, domain, name, market FROM {ledger_customers}"
        " WHERE partner_id = ? ORDER BY position",
        (partner_id,),
    )
    return [_stored(row) for row in rows]


def _stored(row: Any) -> Customer:
    """A registration as it was accepted, not validated again: a market code that a later
    pycountry release drops must not make the list unreadable (R15)."""
    customer = object.__new__(Customer)
    for name, value in (
        ("tenant_id", UUID(row["tenant_id"])),
        ("domain", row["domain"]),
        ("name", row["name"]),
        ("market", row["market"]),
    ):
        object.__setattr__(customer, name, value)
    return customer
