"""Monthly credits: every CreditIssued in the UTC month it was issued (R7, R10)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatch

from ledger.aggregates import Order
from ledger.aggregates.base import LedgerEvent
from ledger.money import stored_minor_units
from ledger.projections import trusted
from ledger.projections.sql import Query, Row, Statement, parse_timestamp, timestamp
from ledger.values import CreditLine, CreditStatement

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_credits} ("
    " position BIGINT PRIMARY KEY, partner_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
    " order_id TEXT NOT NULL, month TEXT NOT NULL, currency TEXT NOT NULL,"
    " amount_minor BIGINT NOT NULL, issued_at TEXT NOT NULL, reason TEXT NOT NULL)",
    # Replaced by ledger_credits_by_month_at: a busy month of one partner holds thousands
    # of credits, which (partner_id, month) left to a sort on every statement.
    "DROP INDEX IF EXISTS {ledger_credits_by_month}",
    "CREATE INDEX IF NOT EXISTS ledger_credits_by_month_at"
    " ON {ledger_credits} (partner_id, month, issued_at, position)",
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
    # A credit's id is its feed item's (the same event, the same position).
    rows = query(
        "SELECT c.*, f.id AS credit_id FROM {ledger_credits} c"
        " LEFT JOIN {ledger_feed} f ON f.position = c.position"
        " WHERE c.partner_id = ? AND c.month = ? ORDER BY c.issued_at, c.position",
        (partner_id, month),
    )
    # Rows this view wrote: built without a second validation (see `trusted`), and
    # the totals summed in exact integer minor units, as the view stores them.
    uuids, amounts = trusted.UUIDs(), trusted.Amounts()
    sums: dict[str, int] = {}
    lines = []
    for row in rows:
        currency, minor = row["currency"], int(row["amount_minor"])
        sums[currency] = sums.get(currency, 0) + minor
        lines.append(
            _new_line(
                order_id=uuids[row["order_id"]],
                tenant_id=uuids[row["tenant_id"]],
                amount=amounts[minor, currency],
                issued_at=parse_timestamp(row["issued_at"]),
                reason=row["reason"],
                credit_id=row["credit_id"],
            )
        )
    totals = {currency: stored_minor_units(sums[currency], currency) for currency in sorted(sums)}
    return CreditStatement(month=month, lines=tuple(lines), totals=totals)


_new_line = trusted.builder(CreditLine)


def stream(
    query: Query, month: str, partner_id: str | None = None, page: int = 2000
) -> Iterator[Row]:
    """The month's credit rows in log order, a page at a time (exports)."""
    position = 0
    partner_clause = "" if partner_id is None else " AND c.partner_id = ?"
    while True:
        params: tuple[object, ...] = (month, position)
        if partner_id is not None:
            params += (partner_id,)
        rows = query(
            "SELECT c.*, f.id AS credit_id FROM {ledger_credits} c"
            " LEFT JOIN {ledger_feed} f ON f.position = c.position"
            " WHERE c.month = ? AND c.position > ?"
            + partner_clause
            + f" ORDER BY c.position LIMIT {page}",
            params,
        )
        yield from rows
        if len(rows) < page:
            return
        position = int(rows[-1]["position"])
