"""Refund requests and their state, for partners and the vendor's support (R10)."""

from __future__ import annotations

import json
from functools import singledispatch
from uuid import UUID

from ledger.aggregates import Refund
from ledger.aggregates.base import LedgerEvent
from ledger.money import stored_minor_units, stored_money
from ledger.projections.sql import (
    Query,
    Row,
    Statement,
    parse_optional_timestamp,
    parse_timestamp,
    timestamp,
)
from ledger.values import RefundRequest

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_refunds} ("
    " refund_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, partner_id TEXT NOT NULL,"
    " tenant_id TEXT NOT NULL, currency TEXT NOT NULL, amount_minor BIGINT NOT NULL,"
    " reason TEXT NOT NULL, contact_name TEXT NOT NULL, contact_email TEXT NOT NULL,"
    " contact_phone TEXT NOT NULL, attachments TEXT NOT NULL, requested_by TEXT NOT NULL,"
    " requested_at TEXT NOT NULL, status TEXT NOT NULL, approved_minor BIGINT,"
    " resolved_by TEXT, resolved_at TEXT)",
    "CREATE INDEX IF NOT EXISTS ledger_refunds_by_partner"
    " ON {ledger_refunds} (partner_id, requested_at)",
)


@singledispatch
def handle(event: LedgerEvent, position: int) -> list[Statement]:
    return []


@handle.register
def _(event: Refund.Requested, position: int) -> list[Statement]:
    return [
        (
            "INSERT INTO {ledger_refunds} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                str(event.originator_id),
                str(event.order_id),
                event.partner_id,
                str(event.tenant_id),
                event.currency,
                stored_money(event.amount, event.currency).minor_units,
                event.reason,
                event.contact_name,
                event.contact_email,
                event.contact_phone,
                json.dumps(list(event.attachments)),
                event.user,
                timestamp(event.timestamp),
                "pending",
                None,
                None,
                None,
            ),
        )
    ]


@handle.register
def _(event: Refund.Approved, position: int) -> list[Statement]:
    return [
        (
            "UPDATE {ledger_refunds} SET status = 'approved', approved_minor = ?,"
            " resolved_by = ?, resolved_at = ? WHERE refund_id = ?",
            (
                stored_money(event.amount, event.currency).minor_units,
                event.user,
                timestamp(event.timestamp),
                str(event.originator_id),
            ),
        )
    ]


@handle.register
def _(event: Refund.Declined, position: int) -> list[Statement]:
    return [
        (
            "UPDATE {ledger_refunds} SET status = 'declined', resolved_by = ?, resolved_at = ?"
            " WHERE refund_id = ?",
            (event.user, timestamp(event.timestamp), str(event.originator_id)),
        )
    ]


def _to_value(row: Row) -> RefundRequest:
    currency = row["currency"]
    approved = row["approved_minor"]
    return RefundRequest(
        refund_id=UUID(row["refund_id"]),
        order_id=UUID(row["order_id"]),
        tenant_id=UUID(row["tenant_id"]),
        partner_id=row["partner_id"],
        amount=stored_minor_units(row["amount_minor"], currency),
        reason=row["reason"],
        contact_name=row["contact_name"],
        contact_email=row["contact_email"],
        contact_phone=row["contact_phone"],
        attachments=tuple(json.loads(row["attachments"])),
        requested_by=row["requested_by"],
        requested_at=parse_timestamp(row["requested_at"]),
        status=row["status"],
        approved_amount=None if approved is None else stored_minor_units(approved, currency),
        resolved_by=row["resolved_by"],
        resolved_at=parse_optional_timestamp(row["resolved_at"]),
    )


def listing(query: Query, partner_id: str | None) -> list[RefundRequest]:
    """A partner's refund requests, or every partner's when ``partner_id`` is None."""
    if partner_id is None:
        rows = query("SELECT * FROM {ledger_refunds} ORDER BY requested_at, refund_id", ())
    else:
        rows = query(
            "SELECT * FROM {ledger_refunds} WHERE partner_id = ? ORDER BY requested_at, refund_id",
            (partner_id,),
        )
    return [_to_value(row) for row in rows]


def by_id(query: Query, refund_id: UUID) -> RefundRequest | None:
    rows = query("SELECT * FROM {ledger_refunds} WHERE refund_id = ?", (str(refund_id),))
    return _to_value(rows[0]) if rows else None
