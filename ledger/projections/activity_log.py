"""The audit activity log: who viewed a key, downloaded or copied a link, and when (R5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import singledispatch
from uuid import UUID

from ledger.aggregates.base import LedgerEvent
from ledger.aggregates.licence import AccessEvent
from ledger.projections.sql import Query, Statement, parse_timestamp, timestamp
from ledger.values import ActivityEntry

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_activity} ("
    " position BIGINT PRIMARY KEY, partner_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
    " order_id TEXT NOT NULL, at TEXT NOT NULL, user_name TEXT NOT NULL, action TEXT NOT NULL,"
    " title TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_activity_by_partner ON {ledger_activity} (partner_id, at)",
)


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: AccessEvent, position: int) -> list[Statement]:
    return [
        (
            "INSERT INTO {ledger_activity} VALUES (?,?,?,?,?,?,?,?)",
            (
                position,
                event.partner_id,
                str(event.tenant_id),
                str(event.order_id),
                timestamp(event.timestamp),
                event.user,
                event.ACTION,
                event.title,
            ),
        )
    ]


def _day_start(day: date) -> str:
    return timestamp(datetime.combine(day, time.min, tzinfo=UTC))


def for_partner(query: Query, partner_id: str, start: date, end: date) -> list[ActivityEntry]:
    """Entries of UTC days ``start``..``end`` inclusive, oldest first."""
    return [entry for _, entry in between(query, start, end, partner_id)]


def between(
    query: Query, start: date, end: date, partner_id: str | None = None
) -> list[tuple[str, ActivityEntry]]:
    """(partner_id, entry) of UTC days ``start``..``end``, oldest first; None: every partner."""
    window = (_day_start(start), _day_start(end + timedelta(days=1)))
    if partner_id is None:
        rows = query(
            "SELECT * FROM {ledger_activity} WHERE at >= ? AND at < ? ORDER BY at, position",
            window,
        )
    else:
        rows = query(
            "SELECT * FROM {ledger_activity} WHERE partner_id = ? AND at >= ? AND at < ?"
            " ORDER BY at, position",
            (partner_id, *window),
        )
    return [
        (
            row["partner_id"],
            ActivityEntry(
                at=parse_timestamp(row["at"]),
                user=row["user_name"],
                action=row["action"],
                tenant_id=UUID(row["tenant_id"]),
                order_id=UUID(row["order_id"]),
                title=row["title"],
            ),
        )
        for row in rows
    ]
