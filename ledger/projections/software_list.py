"""The customer's software list: one row per order, updated as it is cancelled or refunded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

Column = tuple[str, str, Callable[[Order.Purchased, int], object]]


def _copied(name: str) -> Callable[[Order.Purchased, int], object]:
    """The column holds the purchase's field of the same name as it is."""
    return lambda event, position: getattr(event, name)


#: The view's columns: name, SQL type, and what a purchase writes there. The DDL and the
#: insert are made from this one list; `PURCHASE_FIELDS_NOT_SHOWN` names the rest of
#: ``Order.Purchased`` (tests/test_event_schemas.py fails when a field is in neither).
COLUMNS: tuple[Column, ...] = (
    ("order_id", "TEXT PRIMARY KEY", lambda event, position: str(event.originator_id)),
    ("partner_id", "TEXT NOT NULL", _copied("partner_id")),
    ("tenant_id", "TEXT NOT NULL", lambda event, position: str(event.tenant_id)),
    ("product_id", "TEXT NOT NULL", _copied("product_id")),
    ("sku_id", "TEXT NOT NULL", _copied("sku_id")),
    ("title", "TEXT NOT NULL", _copied("title")),
    ("kind", "TEXT NOT NULL", lambda event, position: event.kind.value),
    ("quantity", "BIGINT NOT NULL", _copied("quantity")),
    ("currency", "TEXT NOT NULL", _copied("currency")),
    (
        "total_minor",
        "BIGINT NOT NULL",
        lambda event, position: stored_money(event.total, event.currency).minor_units,
    ),
    ("credited_minor", "BIGINT NOT NULL", lambda event, position: 0),
    ("tax_inclusive", "SMALLINT NOT NULL", lambda event, position: int(event.tax_inclusive)),
    ("status", "TEXT NOT NULL", lambda event, position: "active"),
    ("key_available", "SMALLINT NOT NULL", lambda event, position: 1),
    ("purchased_at", "TEXT NOT NULL", lambda event, position: timestamp(event.timestamp)),
    (
        "cancellable_until",
        "TEXT",
        lambda event, position: optional_timestamp(event.cancellable_until),
    ),
    ("position", "BIGINT NOT NULL", lambda event, position: position),
)

#: The fields of ``Order.Purchased`` the software list does not show (or shows as a column
#: of another name: ``total`` as ``total_minor``, the timestamp as ``purchased_at``).
PURCHASE_FIELDS_NOT_SHOWN = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "user",
        "market",
        "term_days",
        "unit_price",
        "total",
        "idempotency_key",
        "request_fingerprint",
        "versions",
        "languages",
        "bitness",
        "policy_id",
    }
)

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_software} ("
    + " "
    + ", ".join(f"{name} {sql_type}" for name, sql_type, _ in COLUMNS)
    + ")",
    "CREATE INDEX IF NOT EXISTS ledger_software_by_tenant"
    " ON {ledger_software} (tenant_id, purchased_at, position)",
    "CREATE INDEX IF NOT EXISTS ledger_software_by_position ON {ledger_software} (position)",
)

_INSERT = "INSERT INTO {ledger_software} VALUES (" + ",".join("?" * len(COLUMNS)) + ")"


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Order.Purchased, position: int) -> list[Statement]:
    return [(_INSERT, tuple(value(event, position) for _, _, value in COLUMNS))]


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
    return [
        (
            "UPDATE {ledger_software} SET credited_minor = credited_minor + ? WHERE order_id = ?",
            (event.money.minor_units, str(event.originator_id)),
        )
    ]


@handle.register
def _(event: Licence.KeysRevoked, position: int) -> list[Statement]:
    # The domain revokes a key "refunded" exactly when refunds credited the whole total
    # (`Order.is_fully_refunded`): the order's life ends as 'refunded'.
    order_id = str(event.order_id)
    if event.reason != "refunded":
        return [("UPDATE {ledger_software} SET key_available = 0 WHERE order_id = ?", (order_id,))]
    return [
        (
            "UPDATE {ledger_software} SET key_available = 0,"
            " status = CASE WHEN status = 'active' THEN 'refunded' ELSE status END"
            " WHERE order_id = ?",
            (order_id,),
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
