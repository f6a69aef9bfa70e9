"""The audit activity log: who viewed a key, downloaded or copied a link, and when (R5).

Entries are ordered by time, then by log position; a page continues after the
``position`` of the previous page's last entry. Every filter an auditor uses
has an index that starts with it and ends in ``(at, position)``, so a page is
one index range scan whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import singledispatch
from typing import Any, Unpack
from uuid import UUID

from ledger import _validate
from ledger.aggregates.base import LedgerEvent
from ledger.aggregates.licence import AccessEvent
from ledger.errors import InvalidInput
from ledger.projections import trusted
from ledger.projections.sql import Query, Row, Statement, parse_timestamp, timestamp
from ledger.values import ActivityEntry, ActivityFilter

MAX_PAGE = 10_000

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_activity} ("
    " position BIGINT PRIMARY KEY, partner_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
    " order_id TEXT NOT NULL, at TEXT NOT NULL, user_name TEXT NOT NULL, action TEXT NOT NULL,"
    " title TEXT NOT NULL)",
    # Replaced by ledger_activity_by_partner_at, which also orders ties by position.
    "DROP INDEX IF EXISTS {ledger_activity_by_partner}",
    "CREATE INDEX IF NOT EXISTS ledger_activity_by_partner_at"
    " ON {ledger_activity} (partner_id, at, position)",
    "CREATE INDEX IF NOT EXISTS ledger_activity_by_tenant"
    " ON {ledger_activity} (tenant_id, at, position)",
    "CREATE INDEX IF NOT EXISTS ledger_activity_by_order"
    " ON {ledger_activity} (order_id, at, position)",
    "CREATE INDEX IF NOT EXISTS ledger_activity_by_user"
    " ON {ledger_activity} (partner_id, user_name, at, position)",
    "CREATE INDEX IF NOT EXISTS ledger_activity_by_at ON {ledger_activity} (at, position)",
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


@dataclass(frozen=True)
class Selection:
    """Which entries: the half-open time range ``[start, end)`` as stored text, and filters."""

    start: str
    end: str
    partner_id: str | None = None
    tenant_id: UUID | None = None
    order_id: UUID | None = None
    user: str | None = None
    after: int | None = None
    limit: int | None = None


def _bound(field: str, value: object, *, end: bool) -> datetime:
    """A date is a whole UTC day (an end date includes its day); a datetime is exact.

    Nothing is recorded outside ``EARLIEST..LATEST`` (R16), so a bound beyond them
    is narrowed to them: the answer is the same, and ``date.max`` still has a next day.
    """
    if isinstance(value, datetime):
        moment = _validate.aware_utc(field, value)
    elif isinstance(value, date):
        day = min(max(value, _validate.EARLIEST.date()), _validate.LATEST.date())
        moment = datetime.combine(day, time.min, tzinfo=UTC)
        if end and day < _validate.LATEST.date():
            moment += timedelta(days=1)
    else:
        raise InvalidInput(
            field, f"must be a date or an aware datetime, got {type(value).__name__}"
        )
    return min(max(moment, _validate.EARLIEST), _validate.LATEST)


def period(start: object, end: object) -> tuple[datetime, datetime]:
    """``[start, end)`` as UTC instants: a date is a whole day (an end date includes its
    day), None an open end; `InvalidInput` naming ``start`` or ``end``."""
    first = _validate.EARLIEST if start is None else _bound("start", start, end=False)
    if end is None:
        return first, _validate.LATEST
    if _bound("end", end, end=False) < first:  # an end day counts from its first instant
        raise InvalidInput("end", "is before start")
    return first, _bound("end", end, end=True)


def select(
    start: object, end: object, partner_id: str | None = None, **filters: Unpack[ActivityFilter]
) -> Selection:
    """Validate an activity-log request (R5); a problem is an `InvalidInput` naming the field."""
    unknown = set(filters) - set(ActivityFilter.__annotations__)
    if unknown:
        raise TypeError(f"activity_log() got unexpected keywords {', '.join(sorted(unknown))}")
    tenant_id, order_id, user, limit, after = (
        filters.get(name) for name in ("tenant_id", "order_id", "user", "limit", "after")
    )
    first, last = _bound("start", start, end=False), _bound("end", end, end=True)
    if _bound("end", end, end=False) < first:  # an end day counts from its first instant
        raise InvalidInput("end", "is before start")
    return Selection(
        start=timestamp(first),
        end=timestamp(last),
        partner_id=partner_id,
        tenant_id=None if tenant_id is None else _validate.uuid("tenant_id", tenant_id),
        order_id=None if order_id is None else _validate.uuid("order_id", order_id),
        user=None if user is None else _validate.text("user", user),
        limit=None
        if limit is None
        else _validate.integer("limit", limit, minimum=1, maximum=MAX_PAGE),
        after=None if after is None else _validate.integer("after", after, minimum=0),
    )


def check_request(arguments: Mapping[str, Any]) -> None:
    """`select`'s checks of a request's range and filters, before anything is read."""
    select(**arguments)


_new_entry = trusted.builder(ActivityEntry)


def _entry(row: Row, uuids: trusted.UUIDs | None = None) -> ActivityEntry:
    """The entry of a row this view wrote (no second validation: see `trusted`)."""
    uuids = trusted.UUIDs() if uuids is None else uuids
    return _new_entry(
        at=parse_timestamp(row["at"]),
        user=row["user_name"],
        action=row["action"],
        tenant_id=uuids[row["tenant_id"]],
        order_id=uuids[row["order_id"]],
        title=row["title"],
        position=int(row["position"]),
    )


def rows(query: Query, selection: Selection) -> list[Row]:
    """One page of rows (all of them without a limit), oldest first."""
    where = ["at >= ?", "at < ?"]
    params: list[object] = [selection.start, selection.end]
    for column, value in (
        ("partner_id", selection.partner_id),
        ("tenant_id", selection.tenant_id),
        ("order_id", selection.order_id),
        ("user_name", selection.user),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(str(value))
    if selection.after is not None:
        found = query(
            "SELECT at FROM {ledger_activity} WHERE position = ?"
            + (" AND partner_id = ?" if selection.partner_id is not None else ""),
            (selection.after,)
            if selection.partner_id is None
            else (selection.after, selection.partner_id),
        )
        if not found:
            raise InvalidInput("after", f"{selection.after} is not the position of an entry")
        after_at = found[0]["at"]
        # A range on `at` that the index can use, and the tie on `at` broken by position.
        where.extend(["at >= ?", "(at > ? OR position > ?)"])
        params.extend([after_at, after_at, selection.after])
    sql = "SELECT * FROM {ledger_activity} WHERE " + " AND ".join(where) + " ORDER BY at, position"
    if selection.limit is not None:
        sql += " LIMIT ?"
        params.append(selection.limit)
    return query(sql, tuple(params))


def entries(query: Query, selection: Selection) -> list[ActivityEntry]:
    uuids = trusted.UUIDs()
    return [_entry(row, uuids) for row in rows(query, selection)]


def stream(
    query: Query, selection: Selection, page: int = 2000
) -> Iterator[tuple[str, ActivityEntry]]:
    """(partner_id, entry) of every selected entry, a page at a time (bounded memory)."""
    current = replace(selection, limit=page)
    while True:
        batch = rows(query, current)
        uuids = trusted.UUIDs()  # a page's worth: memory stays bounded
        for row in batch:
            yield row["partner_id"], _entry(row, uuids)
        if len(batch) < page:
            return
        current = replace(current, after=int(batch[-1]["position"]))
