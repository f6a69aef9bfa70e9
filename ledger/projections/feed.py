"""The integration feed (SPEC §9): every event a billing system acts on, as an item.

A view like the others: written in the views' transaction with their tracking
record, so it holds exactly the log up to the views' position, each event
once, in log order. That is what makes the feed gap-free while several
processes write: the log becomes visible in commit order (eventsourcing
locks the events table for every append on PostgreSQL; SQLite has one
writer), the views apply it in that order, and a page never reads past
the views' position.

Events that do not name their partner (a cancellation, a refund's decision,
a revocation) take it, with the tenant and the order, from the stream that
did: ``ledger_feed_owners`` keeps, per order, refund and tenant stream, who
it belongs to. An item's ``id`` is derived from the event's stream and
version, so it is the same in every process and after any rebuild.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from functools import singledispatch
from typing import Any
from uuid import UUID

from ledger._json import json_value
from ledger.aggregates import Licence, Order, Refund, Tenant
from ledger.aggregates.base import LEDGER_NAMESPACE, LedgerEvent
from ledger.aggregates.licence import AccessEvent, LinkEvent
from ledger.money import stored_money
from ledger.projections import trusted
from ledger.projections.sql import Query, Statement, parse_timestamp, timestamp
from ledger.values import FeedItem

__all__ = [
    "FEED_TYPES",
    "cursor_for",
    "handle",
    "is_cursor",
    "item_id",
    "page",
    "position_of",
    "waiting",
]

#: Every item type, in the order docs/feed/ lists them.
FEED_TYPES = (
    "customer.registered",
    "order.purchased",
    "licence.key_viewed",
    "licence.downloaded",
    "licence.link_copied",
    "order.cancelled",
    "licence.keys_revoked",
    "credit.issued",
    "refund.requested",
    "refund.resolved",
)

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_feed} ("
    " position BIGINT PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL,"
    " occurred_at TEXT NOT NULL, partner_id TEXT NOT NULL, tenant_id TEXT, order_id TEXT,"
    " data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_feed_by_partner ON {ledger_feed} (partner_id, position)",
    "CREATE TABLE IF NOT EXISTS {ledger_feed_owners} ("
    " stream_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
    " order_id TEXT)",
    # `Audit.as_of(tenant_id=)` finds one customer's streams here.
    "CREATE INDEX IF NOT EXISTS ledger_feed_owners_by_tenant ON {ledger_feed_owners} (tenant_id)",
)

_INSERT = "INSERT INTO {ledger_feed} VALUES (?,?,?,?,?,?,?,?)"
#: An item of a stream whose event does not say whose it is: the owner row says.
_INSERT_OWNED = (
    "INSERT INTO {ledger_feed} (position, id, type, occurred_at, partner_id, tenant_id,"
    " order_id, data) SELECT ?, ?, ?, ?, partner_id, tenant_id, order_id, ?"
    " FROM {ledger_feed_owners} WHERE stream_id = ?"
)
_OWNER = "INSERT INTO {ledger_feed_owners} VALUES (?,?,?,?)"

_ACCESS_TYPES = {
    "key_viewed": "licence.key_viewed",
    "downloaded": "licence.downloaded",
    "link_copied": "licence.link_copied",
}

_COMPACT = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def item_id(originator_id: UUID, version: int) -> str:
    """The item's id: one per event, the same in every process and after any rebuild.

    A name-based UUID (RFC 9562 version 5: SHA-1 over the ledger's namespace, ``feed``,
    the stream's 16 bytes and the version as 8 big-endian bytes), written out directly:
    a replay makes one per event, and `uuid.uuid5` with its UUID objects cost more than
    the rest of the item.
    """
    digest = bytearray(
        hashlib.sha1(
            _ID_PREFIX + originator_id.bytes + version.to_bytes(8, "big"), usedforsecurity=False
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_ID_PREFIX = LEDGER_NAMESPACE.bytes + b"feed"


def _head(event: LedgerEvent, position: int, kind: str) -> tuple[object, ...]:
    return (
        position,
        item_id(event.originator_id, event.originator_version),
        kind,
        timestamp(event.timestamp),
    )


def _data(**fields: Any) -> str:
    """``fields`` as the item's JSON (most are plain text and numbers already)."""
    return _COMPACT.encode(
        {
            name: value if value is None or type(value) in _PLAIN else json_value(value)
            for name, value in fields.items()
        }
    )


_PLAIN = frozenset({str, int, bool})


def _item(
    event: LedgerEvent,
    position: int,
    kind: str,
    owner: tuple[str, UUID | None, UUID | None],
    data: str,
) -> Statement:
    partner_id, tenant_id, order_id = owner
    ids = tuple(None if value is None else str(value) for value in (tenant_id, order_id))
    return _INSERT, (*_head(event, position, kind), partner_id, *ids, data)


def _owned(event: LedgerEvent, position: int, kind: str, stream: UUID, data: str) -> Statement:
    return _INSERT_OWNED, (*_head(event, position, kind), data, str(stream))


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Tenant.Added, position: int) -> list[Statement]:
    data = _data(domain=event.domain, name=event.name, market=event.market, user=event.user)
    owner = (event.partner_id, event.tenant_id, None)
    return [
        (_OWNER, (str(event.originator_id), event.partner_id, str(event.tenant_id), None)),
        _item(event, position, "customer.registered", owner, data),
    ]


@handle.register
def _(event: Tenant.Registered, position: int) -> list[Statement]:
    # The tenant's id is its first registration's; this partner is the event's own.
    data = _data(domain=event.domain, name=event.name, market=event.market, user=event.user)
    return [
        (
            "INSERT INTO {ledger_feed} (position, id, type, occurred_at, partner_id, tenant_id,"
            " order_id, data) SELECT ?, ?, ?, ?, ?, tenant_id, NULL, ?"
            " FROM {ledger_feed_owners} WHERE stream_id = ?",
            (
                *_head(event, position, "customer.registered"),
                event.partner_id,
                data,
                str(event.originator_id),
            ),
        )
    ]


@handle.register
def _(event: Order.Purchased, position: int) -> list[Statement]:
    data = _data(
        product_id=event.product_id,
        sku_id=event.sku_id,
        title=event.title,
        kind=event.kind,
        term_days=event.term_days,
        quantity=event.quantity,
        unit_price=stored_money(event.unit_price, event.currency),
        total=stored_money(event.total, event.currency),
        tax_inclusive=event.tax_inclusive,
        market=event.market,
        cancellable_until=event.cancellable_until,
        idempotency_key=event.idempotency_key,
        user=event.user,
    )
    order = event.originator_id
    return [
        (_OWNER, (str(order), event.partner_id, str(event.tenant_id), str(order))),
        _item(event, position, "order.purchased", (event.partner_id, event.tenant_id, order), data),
    ]


@handle.register
def _(event: Order.Cancelled, position: int) -> list[Statement]:
    return [_owned(event, position, "order.cancelled", event.originator_id, _data(user=event.user))]


@handle.register
def _(event: Order.CreditIssued, position: int) -> list[Statement]:
    credit_id = item_id(event.originator_id, event.originator_version)
    data = _data(
        credit_id=credit_id,
        amount=event.money,
        reason=event.reason,
        refund_id=event.refund_id,
        invoice_month=timestamp(event.timestamp)[:7],
        user=event.user,
    )
    owner = (event.partner_id, event.tenant_id, event.originator_id)
    return [_item(event, position, "credit.issued", owner, data)]


@handle.register
def _(event: AccessEvent, position: int) -> list[Statement]:
    fields: dict[str, Any] = {"title": event.title, "user": event.user}
    if isinstance(event, LinkEvent):
        fields.update(
            version=event.version,
            language=event.language,
            bitness=event.bitness,
            link_expires_at=event.link_expires_at,
        )
    owner = (event.partner_id, event.tenant_id, event.order_id)
    return [_item(event, position, _ACCESS_TYPES[event.ACTION], owner, _data(**fields))]


@handle.register
def _(event: Licence.KeysRevoked, position: int) -> list[Statement]:
    data = _data(reason=event.reason, user=event.user)
    return [_owned(event, position, "licence.keys_revoked", event.order_id, data)]


@handle.register
def _(event: Refund.Requested, position: int) -> list[Statement]:
    # Contact details stay in the refund requests view (R11 limits who reads them).
    refund = event.originator_id
    data = _data(
        refund_id=refund,
        amount=stored_money(event.amount, event.currency),
        reason=event.reason,
        user=event.user,
    )
    owner = (event.partner_id, event.tenant_id, event.order_id)
    return [
        (_OWNER, (str(refund), event.partner_id, str(event.tenant_id), str(event.order_id))),
        _item(event, position, "refund.requested", owner, data),
    ]


@handle.register
def _(event: Refund.Approved, position: int) -> list[Statement]:
    refund = event.originator_id
    amount = stored_money(event.amount, event.currency)
    data = _data(refund_id=refund, status="approved", amount=amount, user=event.user)
    return [_owned(event, position, "refund.resolved", refund, data)]


@handle.register
def _(event: Refund.Declined, position: int) -> list[Statement]:
    refund = event.originator_id
    data = _data(refund_id=refund, status="declined", amount=None, user=event.user)
    return [_owned(event, position, "refund.resolved", refund, data)]


def page(
    query: Query, partner_id: str, after: int, limit: int, types: Iterable[str] | None
) -> tuple[FeedItem, ...]:
    """The partner's items after position ``after``, in log order."""
    where, params = _selection(partner_id, after, types)
    rows = query(
        f"SELECT * FROM {{ledger_feed}} WHERE {where} ORDER BY position LIMIT {int(limit)}",
        params,
    )
    uuids = trusted.UUIDs()
    return tuple(
        _new_item(
            id=row["id"],
            type=row["type"],
            occurred_at=parse_timestamp(row["occurred_at"]),
            partner_id=row["partner_id"],
            tenant_id=None if row["tenant_id"] is None else uuids[row["tenant_id"]],
            order_id=None if row["order_id"] is None else uuids[row["order_id"]],
            data=json.loads(row["data"]),
            cursor=cursor_for(int(row["position"])),
        )
        for row in rows
    )


def waiting(
    query: Query, partner_id: str, after: int, types: Iterable[str] | None
) -> tuple[int, datetime | None]:
    """How many of the partner's items follow position ``after``, and when the first was."""
    where, params = _selection(partner_id, after, types)
    rows = query(
        "SELECT COUNT(*) AS waiting, MIN(occurred_at) AS oldest FROM {ledger_feed}"
        f" WHERE {where}",
        params,
    )
    count, oldest = int(rows[0]["waiting"]), rows[0]["oldest"]
    return count, None if oldest is None else parse_timestamp(oldest)


def _selection(
    partner_id: str, after: int, types: Iterable[str] | None
) -> tuple[str, list[object]]:
    where, params = "partner_id = ? AND position > ?", [partner_id, after]
    if types is not None:
        wanted = sorted(set(types))
        where += f" AND type IN ({', '.join('?' * len(wanted))})"
        params += wanted
    return where, params


def cursor_for(position: int) -> str:
    """The opaque cursor of a position (documented as opaque; the form may change)."""
    return f"v1.{position}"


def is_cursor(text: str) -> bool:
    return _CURSOR.fullmatch(text) is not None


def position_of(cursor: str) -> int:
    """The position a cursor this feed made stands for (`is_cursor` checks one)."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise ValueError(f"not a feed cursor: {cursor!r}")
    return int(match.group(1))


_CURSOR = re.compile(r"v1\.(0|[1-9][0-9]{0,17})")


_new_item = trusted.builder(FeedItem)
