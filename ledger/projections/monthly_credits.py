"""Monthly credits: every CreditIssued in the UTC month it was issued (R7, R10)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatch
from uuid import UUID

from ledger.aggregates import Order
from ledger.aggregates.base import LedgerEvent
from ledger.money import Money, stored_minor_units, stored_money
from ledger.projections.sql import Query, Row, Statement, parse_timestamp, timestamp
from ledger.values import CreditLine, CreditStatement

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_credits} ("
    " position BIGINT PRIMARY KEY, partner_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
    " order_id TEXT NOT NULL, month TEXT NOT NULL, currency TEXT NOT NULL,"
    " amount_minor BIGINT NOT NULL, issued_at TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_credits_by_month ON {ledger_credits} (partner_id, month)",
)


def invoice_month(issued_at_utc_text: str) -> str:
    return issued_at_utc_text[:7]


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Order.CreditIssued, position: int) -> list[Statement]:
    issued_at = timestamp(event.timestamp)
    return [
        (
            "INSERT INTO {ledger_credits} VALUES (?,?,?,?,?,?,?,?,?)",
            (
                position,
                event.partner_id,
                str(event.tenant_id),
                str(event.originator_id),
                invoice_month(issued_at),
                event.currency,
                event.money.minor_units,
                issued_at,
                event.reason,
            ),
        )
    ]


def for_month(query: Query, partner_id: str, month: str) -> CreditStatement:
    rows = query(
        "SELECT * FROM {ledger_credits} WHERE partner_id = ? AND month = ?"
        " ORDER BY issued_at, position",
        (partner_id, month),
    )
    lines = tuple(
        CreditLine(
            order_id=UUID(row["order_id"]),
            tenant_id=UUID(row["tenant_id"]),
            amount=stored_minor_units(row["amount_minor"], row["currency"]),
            issued_at=parse_timestamp(row["issued_at"]),
            reason=row["reason"],
        )
        for row in rows
    )
    totals: dict[str, Money] = {}
    for line in lines:
        currency = line.amount.currency
        totals[currency] = totals.get(currency, stored_money("0", currency)) + line.amount
    return CreditStatement(month=month, lines=lines, totals=dict(sorted(totals.items())))


def stream(
    query: Query, month: str, partner_id: str | None = None, page: int = 2000
) -> Iterator[Row]:
    """The month's credit rows in log order, a page at a time (exports)."""
    position = 0
    partner_clause = "" if partner_id is None else " AND partner_id = ?"
    while True:
        params: tuple[object, ...] = (month, position)
        if partner_id is not None:
            params += (partner_id,)
        rows = query(
            "SELECT * FROM {ledger_credits} WHERE month = ? AND position > ?"
            + partner_clause
            + f" ORDER BY position LIMIT {page}",
            params,
        )
        yield from rows
        if len(rows) < page:
            return
        position = int(rows[-1]["position"])
