"""R18: what compliance auditors do with the history.

(a) `Audit.rebuild` replays every event into fresh views and compares them
    with the live ones;
(b) `Audit.as_of` shows the views as they were at a past instant;
(c) `Audit.export_events` / `Audit.export_activity` write CSV or JSON Lines;
(d) `Audit.digest` / `Audit.verify` check the hash chain over the stored
    event log against a digest kept outside the database.

The audit API is for whoever operates the ledger (it takes no actor): an
auditor is given the store, not a partner login.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger import _validate
from ledger.aggregates.base import LedgerEvent
from ledger.errors import InvalidInput
from ledger.eventstore import EventStore
from ledger.projections import (
    activity_log,
    audit_chain,
    monthly_credits,
    refund_requests,
    software_list,
)
from ledger.projections.sql import Dialect, Params, Row, timestamp
from ledger.projections.updater import BATCH_SIZE, ViewUpdater
from ledger.projections.views import VIEW_DDL, LedgerViews, statements_for
from ledger.values import ActivityEntry, CreditStatement, RefundRequest, SoftwareItem

__all__ = ["Audit", "AuditDigest", "HistoricalViews", "RebuildReport", "Verification"]

ExportFormat = Literal["jsonl", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")
EVENT_FIELDS = (
    "position",
    "timestamp",
    "topic",
    "originator_id",
    "originator_version",
    "user",
    "chain_hash",
    "payload",
)
ACTIVITY_FIELDS = ("at", "partner_id", "tenant_id", "order_id", "user", "action", "title")
_VIEW_TABLES = {
    "ledger_software": "order_id",
    "ledger_activity": "position",
    "ledger_credits": "position",
    "ledger_refunds": "refund_id",
}


@dataclass(frozen=True)
class AuditDigest:
    """The chain head: keep ``str(digest)`` somewhere the database cannot reach."""

    position: int
    hash: str

    def __post_init__(self) -> None:
        _validate.integer("digest", self.position, minimum=0)
        if not isinstance(self.hash, str) or not re.fullmatch(r"[0-9a-f]{64}", self.hash):
            raise InvalidInput("digest", "hash must be 64 lower-case hex digits")

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> AuditDigest:
        position, _, chain_hash = _validate.text("digest", text).partition(":")
        # ASCII only: str.isdigit() accepts "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,18}", position) or not re.fullmatch(
            r"[0-9a-f]{64}", chain_hash
        ):
            raise InvalidInput("digest", "must look like '<position>:<64 hex digits>'")
        return cls(int(position), chain_hash)


@dataclass(frozen=True)
class Verification:
    """Outcome of `Audit.verify`; ``broken_at`` is the first position that fails."""

    ok: bool
    checked: int
    head: AuditDigest
    broken_at: int | None = None
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class RebuildReport:
    """Outcome of `Audit.rebuild`: row counts per view and any differing rows."""

    matches: bool
    rows: dict[str, int]
    differences: tuple[str, ...] = field(default_factory=tuple)


class ScratchViews:
    """The same views in a private in-memory SQLite database, for replays."""

    def __init__(self) -> None:
        self.dialect = Dialect("sqlite")
        self._conn = sqlite3.connect(":memory:")
        self._conn.row_factory = sqlite3.Row
        for ddl in VIEW_DDL:
            self._conn.execute(self.dialect.render(ddl))

    def apply(self, event: LedgerEvent, position: int) -> None:
        for template, params in statements_for(event, position):
            self._conn.execute(self.dialect.render(template), params)

    def query(self, template: str, params: Params) -> list[Row]:
        return list(self._conn.execute(self.dialect.render(template), params))

    def close(self) -> None:
        self._conn.close()


class HistoricalViews:
    """The views as they stood at an instant (R18b), built by replaying history."""

    def __init__(self, instant: datetime, views: ScratchViews) -> None:
        self.instant = instant
        self._views = views

    def software(self, tenant_id: UUID) -> list[SoftwareItem]:
        return software_list.for_tenant(self._views.query, _validate.uuid("tenant_id", tenant_id))

    def activity_log(self, partner_id: str, start: date, end: date) -> list[ActivityEntry]:
        return activity_log.for_partner(
            self._views.query,
            _validate.text("partner_id", partner_id),
            *_validate.day_range(start, end),
        )

    def monthly_credits(self, partner_id: str, month: str) -> CreditStatement:
        return monthly_credits.for_month(
            self._views.query,
            _validate.text("partner_id", partner_id),
            _validate.month("month", month),
        )

    def refunds(self, partner_id: str | None = None) -> list[RefundRequest]:
        partner = None if partner_id is None else _validate.text("partner_id", partner_id)
        return refund_requests.listing(self._views.query, partner)


class Audit:
    def __init__(self, events: EventStore, views: LedgerViews, updater: ViewUpdater) -> None:
        self._events = events
        self._views = views
        self._updater = updater

    # -- reading the stored log ------------------------------------------------------------

    def _notifications(self) -> Iterator[Notification]:
        position = 0
        while True:
            batch = self._events.recorder.select_notifications(
                start=position, limit=BATCH_SIZE, inclusive_of_start=False
            )
            if not batch:
                return
            yield from batch
            position = batch[-1].id

    def _events_with_positions(self) -> Iterator[tuple[LedgerEvent, Notification]]:
        for notification in self._notifications():
            yield self._updater.decode(notification), notification

    def _chain_links(self) -> dict[int, str]:
        rows = self._views.query("SELECT position, hash FROM {ledger_audit_chain}", ())
        return {int(row["position"]): str(row["hash"]) for row in rows}

    def _replay(self, until: datetime | None = None) -> ScratchViews:
        """Fresh views from every event, or from those recorded at or before ``until``."""
        scratch = ScratchViews()
        for event, notification in self._events_with_positions():
            if until is None or event.timestamp <= until:
                scratch.apply(event, notification.id)
        return scratch

    # -- (d) tamper evidence ---------------------------------------------------------------

    def digest(self) -> AuditDigest:
        """The current head of the hash chain (position 0 for an empty ledger)."""
        self._updater.catch_up()
        rows = self._views.query(audit_chain.LAST_LINK, ())
        if not rows:
            return AuditDigest(0, audit_chain.GENESIS)
        return AuditDigest(int(rows[0]["position"]), str(rows[0]["hash"]))

    def verify(self, digest: AuditDigest | str | None = None) -> Verification:
        """Recompute the chain from the stored events and compare.

        Without a digest this finds edited, reordered, inserted or deleted events
        against the chain kept in the database; with a digest kept elsewhere it
        also finds a history rewritten together with its chain, or truncated.
        """
        if isinstance(digest, str):
            digest = AuditDigest.parse(digest)
        elif digest is not None and not isinstance(digest, AuditDigest):
            raise InvalidInput("digest", "must be an AuditDigest or its string form")
        # A tampered event may not even decode; verification below says where it broke.
        with contextlib.suppress(Exception):
            self._updater.catch_up()
        stored = self._chain_links()
        chain_hash = audit_chain.GENESIS
        checked = 0
        head = AuditDigest(0, chain_hash)
        problems: list[tuple[int, str]] = []
        digest_hash: str | None = None
        for notification in self._notifications():
            chain_hash = audit_chain.link(chain_hash, notification)
            position = notification.id
            expected = stored.pop(position, None)
            if expected is None:
                problems.append((position, f"event at position {position} has no chain link"))
            elif expected != chain_hash:
                problems.append(
                    (position, f"event at position {position} was edited, moved or replaced")
                )
            if digest is not None and position == digest.position:
                digest_hash = chain_hash
            head = AuditDigest(position, chain_hash)
            checked += 1
        if stored:
            gone = min(stored)
            problems.append((gone, f"event at position {gone} was deleted"))
        if digest is not None and digest.position > 0:
            if digest_hash is None:
                problems.append(
                    (digest.position, f"position {digest.position} of the digest is missing")
                )
            elif digest_hash != digest.hash:
                problems.append(
                    (digest.position, f"history up to position {digest.position} was rewritten")
                )
        if not problems:
            return Verification(ok=True, checked=checked, head=head)
        broken_at, problem = min(problems)
        return Verification(
            ok=False, checked=checked, head=head, broken_at=broken_at, problem=problem
        )

    # -- (a) and (b) replays ---------------------------------------------------------------

    def as_of(self, instant: datetime) -> HistoricalViews:
        """The views built from every event recorded at or before ``instant``."""
        moment = _validate.aware_utc("instant", instant)
        return HistoricalViews(moment, self._replay(moment))

    def rebuild(self) -> RebuildReport:
        """Replay the whole history into fresh views and compare them with the live views."""
        self._updater.catch_up()
        scratch = self._replay()
        try:
            differences: list[str] = []
            rows: dict[str, int] = {}
            for table, key in _VIEW_TABLES.items():
                query = "SELECT * FROM {%s} ORDER BY %s" % (table, key)  # noqa: UP031 - a template
                live = [
                    tuple(_plain(row[c]) for c in _columns(row))
                    for row in self._views.query(query, ())
                ]
                rebuilt = [
                    tuple(_plain(row[c]) for c in _columns(row)) for row in scratch.query(query, ())
                ]
                rows[table] = len(rebuilt)
                if live != rebuilt:
                    differences.extend(_describe(table, live, rebuilt))
            return RebuildReport(matches=not differences, rows=rows, differences=tuple(differences))
        finally:
            scratch.close()

    # -- (c) exports -----------------------------------------------------------------------

    def export_events(self, target: str | Path | IO[str], format: ExportFormat = "jsonl") -> int:
        """Write the full event history (with each event's chain hash); returns the count."""
        target = _validate.export_target("target", target)
        _validate.choice("format", format, EXPORT_FORMATS)
        self._updater.catch_up()
        chain = self._chain_links()
        records = (
            {
                "position": notification.id,
                "timestamp": timestamp(event.timestamp),
                "topic": notification.topic,
                "originator_id": str(notification.originator_id),
                "originator_version": notification.originator_version,
                "user": getattr(event, "user", ""),
                "chain_hash": chain.get(notification.id, ""),
                "payload": event.model_dump(
                    mode="json",
                    exclude={"originator_id", "originator_version", "timestamp"},
                ),
            }
            for event, notification in self._events_with_positions()
        )
        return _write(target, format, EVENT_FIELDS, records)

    def export_activity(
        self,
        target: str | Path | IO[str],
        start: date,
        end: date,
        format: ExportFormat = "jsonl",
        *,
        partner_id: str | None = None,
    ) -> int:
        """Write the activity log of UTC days ``start``..``end`` (every partner by default)."""
        target = _validate.export_target("target", target)
        _validate.choice("format", format, EXPORT_FORMATS)
        start_day, end_day = _validate.day_range(start, end)
        self._updater.catch_up()
        entries = activity_log.between(
            self._views.query,
            start_day,
            end_day,
            None if partner_id is None else _validate.text("partner_id", partner_id),
        )
        records = (
            {
                "at": timestamp(entry.at),
                "partner_id": partner,
                "tenant_id": str(entry.tenant_id),
                "order_id": str(entry.order_id),
                "user": entry.user,
                "action": entry.action,
                "title": entry.title,
            }
            for partner, entry in entries
        )
        return _write(target, format, ACTIVITY_FIELDS, records)


def _columns(row: Row) -> Sequence[str]:
    return list(row.keys())


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _describe(table: str, live: list[tuple[Any, ...]], rebuilt: list[tuple[Any, ...]]) -> list[str]:
    if len(live) != len(rebuilt):
        return [f"{table}: {len(live)} live rows, {len(rebuilt)} rebuilt"]
    return [
        f"{table}: live {a!r} != rebuilt {b!r}"
        for a, b in zip(live, rebuilt, strict=True)
        if a != b
    ]


def _write(
    target: str | Path | IO[str],
    format: str,
    fields: Sequence[str],
    records: Iterator[dict[str, Any]],
) -> int:
    if format not in EXPORT_FORMATS:
        raise InvalidInput("format", "must be 'jsonl' or 'csv'")
    if isinstance(target, str | Path):
        try:
            with Path(target).open("w", encoding="utf-8", newline="") as handle:
                return _write(handle, format, fields, records)
        except OSError as error:
            raise InvalidInput("target", f"cannot be written: {error.strerror}") from None
    writer = csv.DictWriter(target, fieldnames=list(fields)) if format == "csv" else None
    if writer is not None:
        _to_target(writer.writeheader)
    count = 0
    for record in records:
        if writer is None:
            _to_target(functools.partial(target.write, json.dumps(record, sort_keys=True) + "\n"))
        else:
            row = {
                k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
                for k, v in record.items()
            }
            _to_target(functools.partial(writer.writerow, row))
        count += 1
    return count


def _to_target(write: Callable[[], object]) -> None:
    """A write to the caller's stream; a binary, closed or full one is a bad ``target``."""
    try:
        write()
    except (OSError, TypeError, ValueError) as error:
        raise InvalidInput("target", f"cannot be written: {error}") from None
