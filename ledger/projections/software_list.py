"""The customer's software list: one row per order, updated as it is cancelled or refunded."""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatch
from uuid import UUID

from ledger.aggregates import Licence, Order
from ledger.aggregates.base import LedgerEvent
from ledger.money import stored_minor_units, stored_money
from ledger.projections import trusted
from ledger.projections.sql import (
    Query,
    Row,
    Statement,
    optional_timestamp,
    parse_optional_timestamp,
    parse_timestamp,
    timestamp,
)
from ledger.values import ProductKind, SoftwareItem

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_software} ("
    " order_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
    " product_id TEXT NOT NULL, sku_id TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,"
    " quantity BIGINT NOT NULL, currency TEXT NOT NULL, total_minor BIGINT NOT NULL,"
    " credited_minor BIGINT NOT NULL, tax_inclusive SMALLINT NOT NULL, status TEXT NOT NULL,"
    " key_available SMALLINT NOT NULL, purchased_at TEXT NOT NULL, cancellable_until TEXT,"
    " position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_software_by_tenant"
    " ON {ledger_software} (tenant_id, purchased_at, position)",
    "CREATE INDEX IF NOT EXISTS ledger_software_by_position ON {ledger_software} (position)",
)


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Order.Purchased, position: int) -> list[Statement]:
    return [
        (
            "INSERT INTO {ledger_software} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                str(event.originator_id),
                event.partner_id,
                str(event.tenant_id),
                event.product_id,
                event.sku_id,
                event.title,
                event.kind.value,
                event.quantity,
                event.currency,
                stored_money(event.total, event.currency).minor_units,
                0,
                int(event.tax_inclusive),
                "active",
                1,
                timestamp(event.timestamp),
                optional_timestamp(event.cancellable_until),
                position,
            ),
        )
    ]


@handle.register
def _(event: Order.Cancelled, position: int) -> list[Statement]:
    return [
        (
            "UPDATE {ledger_software} SET status = 'cancelled' WHERE order_id = ?",
            (str(event.originator_id),),
        )
    ]


@handle.register
def _(event: Order.CreditIssued, position: int) -> list[Statement]:
    # A refund that credits the whole total ends the order's life as 'refunded'.
    return [
        (
            "UPDATE {ledger_software} SET credited_minor = credited_minor + ?,"
            " status = CASE WHEN status = 'active' AND credited_minor + ? >= total_minor"
            " THEN 'refunded' ELSE status END"
            " WHERE order_id = ?",
            (event.money.minor_units, event.money.minor_units, str(event.originator_id)),
        )
    ]


@handle.register
def _(event: Licence.KeysRevoked, position: int) -> list[Statement]:
    return [
        (
            "UPDATE {ledger_software} SET key_available = 0 WHERE order_id = ?",
            (str(event.order_id),),
        )
    ]


def for_tenant(query: Query, tenant_id: UUID, partner_id: str | None = None) -> list[SoftwareItem]:
    """The tenant's orders, oldest first: of one partner, or (None) of every partner."""
    if partner_id is None:
        rows = query(
            "SELECT * FROM {ledger_software} WHERE tenant_id = ? ORDER BY purchased_at, position",
            (str(tenant_id),),
        )
    else:
        rows = query(
            "SELECT * FROM {ledger_software} WHERE tenant_id = ? AND partner_id = ?"
            " ORDER BY purchased_at, position",
            (str(tenant_id), partner_id),
        )
    # Rows this view wrote: built without a second validation (see `trusted`).
    uuids, amounts = trusted.UUIDs(), trusted.Amounts()
    return [
        _new_item(
            order_id=uuids[row["order_id"]],
            product_id=row["product_id"],
            title=row["title"],
            quantity=int(row["quantity"]),
            total=amounts[int(row["total_minor"]), row["currency"]],
            tax_inclusive=bool(row["tax_inclusive"]),
            status=row["status"],
            key_available=bool(row["key_available"]),
            purchased_at=parse_timestamp(row["purchased_at"]),
            cancellable_until=parse_optional_timestamp(row["cancellable_until"]),
            tenant_id=uuids[row["tenant_id"]],
            sku_id=row["sku_id"],
            kind=ProductKind(row["kind"]),
            credited=amounts[int(row["credited_minor"]), row["currency"]],
        )
        for row in rows
    ]


_new_item = trusted.builder(SoftwareItem)


def stream(
    query: Query, partner_id: str | None = None, tenant_id: UUID | None = None, page: int = 2000
) -> Iterator[Row]:
    """Software rows in log order of their purchase, a page at a time (exports)."""
    position = 0
    clauses = ""
    extra: tuple[object, ...] = ()
    if partner_id is not None:
        clauses += " AND partner_id = ?"
        extra += (partner_id,)
    if tenant_id is not None:
        clauses += " AND tenant_id = ?"
        extra += (str(tenant_id),)
    while True:
        rows = query(
            "SELECT * FROM {ledger_software} WHERE position > ?"
            + clauses
            + f" ORDER BY position LIMIT {page}",
            (position, *extra),
        )
        yield from rows
        if len(rows) < page:
            return
        position = int(rows[-1]["position"])


def export_record(row: Row) -> dict[str, object]:
    currency = row["currency"]
    return {
        "order_id": row["order_id"],
        "partner_id": row["partner_id"],
        "tenant_id": row["tenant_id"],
        "product_id": row["product_id"],
        "sku_id": row["sku_id"],
        "title": row["title"],
        "kind": row["kind"],
        "quantity": int(row["quantity"]),
        "total": str(stored_minor_units(row["total_minor"], currency).amount),
        "credited": str(stored_minor_units(row["credited_minor"], currency).amount),
        "currency": currency,
        "tax_inclusive": bool(row["tax_inclusive"]),
        "status": row["status"],
        "key_available": bool(row["key_available"]),
        "purchased_at": row["purchased_at"],
        "cancellable_until": row["cancellable_until"],
    }
