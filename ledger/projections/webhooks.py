"""The partners' webhook endpoints that are in force (SPEC §9), for listing and delivery."""

from __future__ import annotations

import json
from functools import singledispatch

from ledger.aggregates import Webhook
from ledger.aggregates.base import LedgerEvent
from ledger.projections import trusted
from ledger.projections.sql import Query, Row, Statement, parse_timestamp, timestamp
from ledger.values import WebhookEndpoint

__all__ = ["active", "for_partner", "handle"]

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_webhooks} ("
    " endpoint_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, url TEXT NOT NULL,"
    " types TEXT, created_at TEXT NOT NULL, position BIGINT NOT NULL)",
)


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Webhook.Added, position: int) -> list[Statement]:
    types = None if event.types is None else json.dumps(list(event.types))
    return [
        (
            "INSERT INTO {ledger_webhooks} VALUES (?,?,?,?,?,?)",
            (
                str(event.originator_id),
                event.partner_id,
                event.url,
                types,
                timestamp(event.timestamp),
                position,
            ),
        )
    ]


@handle.register
def _(event: Webhook.Removed, position: int) -> list[Statement]:
    return [("DELETE FROM {ledger_webhooks} WHERE endpoint_id = ?", (str(event.originator_id),))]


def for_partner(query: Query, partner_id: str) -> list[WebhookEndpoint]:
    rows = query(
        "SELECT * FROM {ledger_webhooks} WHERE partner_id = ? ORDER BY position", (partner_id,)
    )
    return [endpoint(row) for row in rows]


def active(query: Query) -> list[tuple[str, WebhookEndpoint]]:
    """Every partner's endpoints, oldest first: ``(partner_id, endpoint)``."""
    rows = query("SELECT * FROM {ledger_webhooks} ORDER BY position", ())
    return [(str(row["partner_id"]), endpoint(row)) for row in rows]


def endpoint(row: Row) -> WebhookEndpoint:
    types = row["types"]
    return WebhookEndpoint(
        id=trusted.UUIDs()[row["endpoint_id"]],
        url=row["url"],
        types=None if types is None else tuple(json.loads(types)),
        created_at=parse_timestamp(row["created_at"]),
    )
