"""`Audit`: the auditor's calls on one store (``led.audit``): rebuild, as-of, exports, verify."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger import _validate, logs
from ledger._json import json_value
from ledger.audit.chain import AuditDigest
from ledger.audit.evidence import EvidencePack, write_evidence
from ledger.audit.export import (
    EVENT_COLUMNS,
    ExportFormat,
    csv_event_records,
    event_records,
    write_records,
)
from ledger.audit.replay import HistoricalViews, RebuildReport, as_of, compare_with_replay
from ledger.audit.scope import AuditScope
from ledger.audit.tenant_history import tenant_as_of
from ledger.audit.trail import Trail, TrailEntry
from ledger.audit.trust import TamperEvidence
from ledger.audit.what_if import WhatIfReport, what_if
from ledger.errors import AccessDenied, InvalidInput
from ledger.eventstore import EventStoreApplication
from ledger.faults import guarded
from ledger.keys import KeyVault
from ledger.logging import default_logger
from ledger.logs import logged
from ledger.money import stored_minor_units
from ledger.policies import access
from ledger.projections import activity_log, monthly_credits, software_list
from ledger.projections.replay import Progress
from ledger.projections.sql import parse_timestamp, timestamp
from ledger.projections.updater import ViewUpdater
from ledger.projections.views import LedgerViews
from ledger.sealing import GENESIS
from ledger.values import Actor, actor_or_name

__all__ = ["Audit"]

ACTIVITY_COLUMNS = (
    "position",
    "at",
    "partner_id",
    "tenant_id",
    "order_id",
    "user",
    "action",
    "title",
)
CREDIT_COLUMNS = (
    "partner_id",
    "order_id",
    "tenant_id",
    "amount",
    "currency",
    "issued_at",
    "reason",
    "credit_id",
)
SOFTWARE_COLUMNS = (
    "order_id",
    "partner_id",
    "tenant_id",
    "product_id",
    "sku_id",
    "title",
    "kind",
    "quantity",
    "total",
    "credited",
    "currency",
    "tax_inclusive",
    "status",
    "key_available",
    "purchased_at",
    "cancellable_until",
)


class Audit(TamperEvidence):
    def __init__(
        self,
        events: EventStoreApplication,
        views: LedgerViews,
        updater: ViewUpdater,
        prepare: Callable[[], None],
        log: Any = None,
        *,
        vault: KeyVault | None = None,
        store_files: Sequence[Path] = (),
        trail: Trail,
        now: Callable[[], datetime],
    ) -> None:
        self._log = log if log is not None else default_logger()
        #: R21: every audit read, admin action and refusal here is recorded in the store.
        self._trail = trail
        self._now = now
        self._vault = vault
        #: The store's own files (database, journals, key file): never an export target.
        self._store_files = tuple(store_files)
        self._events = events
        self._views = views
        self._updater = updater
        # Brings the views up to date in inline mode; takes them as they stand when followed.
        self._prepare = prepare

    @guarded
    def report(
        self,
        out: str | Path,
        start: date | datetime,
        end: date | datetime,
        *,
        actor: Actor | str | None = None,
    ) -> EvidencePack:
        """Write an evidence pack into the new directory ``out`` (`ledger.audit.evidence`)."""
        ran_by = actor_or_name(actor)
        who = ran_by.user if isinstance(ran_by, Actor) else ran_by
        activity_log.select(start, end)  # the period's checks, before anything is written
        if not isinstance(out, str | Path) or not str(out).strip():
            raise InvalidInput("out", "must be a directory path")
        self._audited(ran_by, access.AUDIT_HISTORY, "report", out=out, start=start, end=end)
        return write_evidence(self, self._audit_key(), Path(out), start, end, who)

    # -- (a) and (b) replays ---------------------------------------------------------------

    @guarded
    def as_of(
        self,
        instant: datetime,
        *,
        progress: Progress | None = None,
        actor: Actor | str | None = None,
        tenant_id: UUID | None = None,
    ) -> HistoricalViews:
        """The views built from every event recorded at or before ``instant`` (close when done).

        Given an `Actor`, they show only what it may audit (R21, `AuditScope`): a
        partner's auditor its own partner's records, the vendor's auditor everyone's.

        Given ``tenant_id``, they hold that customer's records alone (its software
        list and activity; not a partner's credits or refunds), read from its own
        streams with every event checked (`ledger.audit.tenant_history`): milliseconds,
        where the whole history takes a replay of the log.
        """
        moment = _validate.aware_utc("instant", instant)
        progress = _validate.progress("progress", progress)  # before the trail records a read
        tenant = None if tenant_id is None else _validate.uuid("tenant_id", tenant_id)
        details: dict[str, Any] = {"instant": moment}
        if tenant is not None:
            details["tenant_id"] = str(tenant)
        scope, _ = self._audited(actor_or_name(actor), access.AUDIT_RECORDS, "as_of", **details)
        if tenant is not None:
            self._prepare()
            scratch = tenant_as_of(
                self._events, self._views, self._updater.trust, moment, tenant, progress
            )
            return HistoricalViews(moment, scratch, scope, tenant)
        return as_of(
            self._events,
            self._updater.trust,
            moment,
            progress,
            scope,
        )

    @guarded
    def what_if(
        self,
        actor: Actor,
        policy: object,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        *,
        progress: Progress | None = None,
    ) -> WhatIfReport:
        """The orders purchased in ``[start, end)`` replayed under a candidate ``policy``
        (SPEC §10): read-only; the actor's partner's orders (the vendor's support: all)."""
        try:
            report = what_if(self._events, actor, policy, start, end, progress)
        except AccessDenied as refusal:
            self._trail.refused(actor, "audit.what_if", self._now(), str(refusal), self._log)
            raise
        self._trail.read(actor, "audit.what_if", self._now(), policy_id=report.policy_id)
        logs.emit(
            self._log,
            "info",
            "ledger.what_if",
            user=actor.user,
            policy_id=report.policy_id,
            orders=len(report.rows),
            **{change: count for change, count in report.changes.items() if count},
        )
        return report

    @guarded
    def rebuild(self, *, progress: Progress | None = None) -> RebuildReport:
        """Replay the history into scratch views and compare them with the live views."""
        _validate.progress("progress", progress)
        self._trail.admin(None, "audit.rebuild", self._now())
        self._prepare()
        return compare_with_replay(self._events, self._views, self._updater.trust, progress)

    # -- (c) exports -----------------------------------------------------------------------

    @guarded
    def export_events(
        self,
        target: str | Path | IO[str],
        format: ExportFormat = "jsonl",
        *,
        progress: Progress | None = None,
        actor: Actor | str | None = None,
    ) -> int:
        """Write every stored event (bytes, MAC, chain hash), streamed; returns how many.

        ``actor`` is who is exporting: an `Actor`, which must be the vendor's auditor (the
        history is every partner's, R21), or an operator's name, or None (the operator).
        """
        if format not in ("jsonl", "csv"):
            raise InvalidInput("format", "must be 'jsonl' or 'csv'")
        _validate.progress("progress", progress)
        actor = actor_or_name(actor)
        total = self._events.recorder.max_notification_id() or 0
        count = 0

        def rows() -> Iterator[Notification]:
            nonlocal count
            for row in self._rows():
                count += 1
                if progress is not None and count % 5000 == 0:
                    progress(row.id, max(total, row.id))
                yield row

        with self._exporting("events", actor, target, format) as context:
            self._audited(actor, access.AUDIT_HISTORY, "export_events", target=_where(target))
            records = event_records(rows(), self._updater.trust.key)
            if format == "csv":
                records = csv_event_records(records)
            write_records(target, format, EVENT_COLUMNS, records, self._store_files)
            context["rows"] = count
            return count

    @guarded
    def export_activity(
        self,
        target: str | Path | IO[str],
        start: date | datetime,
        end: date | datetime,
        format: ExportFormat = "jsonl",
        *,
        partner_id: str | None = None,
        tenant_id: Any = None,
        order_id: Any = None,
        user: str | None = None,
        actor: Actor | str | None = None,
    ) -> int:
        """Write the activity log of ``[start, end]`` (every partner by default), streamed."""
        actor = actor_or_name(actor)
        asked = None if partner_id is None else _validate.text("partner_id", partner_id)
        activity_log.select(start, end)
        _, partner = self._audited(
            actor, access.AUDIT_RECORDS, "export_activity", asked, target=_where(target)
        )
        selection = activity_log.select(
            start,
            end,
            partner_id=partner,
            tenant_id=tenant_id,
            order_id=order_id,
            user=user,
        )
        self._prepare()
        records = (
            {
                "position": entry.position,
                "at": timestamp(entry.at),
                "partner_id": partner,
                "tenant_id": str(entry.tenant_id),
                "order_id": str(entry.order_id),
                "user": entry.user,
                "action": entry.action,
                "title": entry.title,
            }
            for partner, entry in activity_log.stream(self._views.query, selection)
        )
        with self._exporting(
            "activity",
            actor,
            target,
            format,
            start=str(start),
            end=str(end),
            filter_partner_id=selection.partner_id,
            filter_tenant_id=None if tenant_id is None else str(tenant_id),
            filter_order_id=None if order_id is None else str(order_id),
            filter_user=user,
        ) as context:
            context["rows"] = write_records(
                target, format, ACTIVITY_COLUMNS, records, self._store_files
            )
            return int(context["rows"])

    @guarded
    def export_credits(
        self,
        target: str | Path | IO[str],
        month: str,
        format: ExportFormat = "jsonl",
        *,
        partner_id: str | None = None,
        actor: Actor | str | None = None,
    ) -> int:
        """Write the credits issued in a UTC month (every partner by default), streamed."""
        actor = actor_or_name(actor)
        month = _validate.month("month", month)
        asked = None if partner_id is None else _validate.text("partner_id", partner_id)
        _, partner = self._audited(
            actor, access.AUDIT_RECORDS, "export_credits", asked, target=_where(target)
        )
        self._prepare()
        records = (
            {
                "partner_id": row["partner_id"],
                "order_id": row["order_id"],
                "tenant_id": row["tenant_id"],
                "amount": str(stored_minor_units(row["amount_minor"], row["currency"]).amount),
                "currency": row["currency"],
                # The same text as `CreditLine.to_dict()` gives.
                "issued_at": json_value(parse_timestamp(row["issued_at"])),
                "reason": row["reason"],
                "credit_id": row["credit_id"],
            }
            for row in monthly_credits.stream(self._views.query, month, partner)
        )
        with self._exporting(
            "credits", actor, target, format, month=month, filter_partner_id=partner
        ) as context:
            context["rows"] = write_records(
                target, format, CREDIT_COLUMNS, records, self._store_files
            )
            return int(context["rows"])

    @guarded
    def export_software(
        self,
        target: str | Path | IO[str],
        format: ExportFormat = "jsonl",
        *,
        partner_id: str | None = None,
        tenant_id: Any = None,
        actor: Actor | str | None = None,
    ) -> int:
        """Write the software list (every order of every partner by default), streamed."""
        actor = actor_or_name(actor)
        asked = None if partner_id is None else _validate.text("partner_id", partner_id)
        tenant = None if tenant_id is None else _validate.uuid("tenant_id", tenant_id)
        _, partner = self._audited(
            actor, access.AUDIT_RECORDS, "export_software", asked, target=_where(target)
        )
        self._prepare()
        records = (
            software_list.export_record(row)
            for row in software_list.stream(self._views.query, partner, tenant)
        )
        with self._exporting(
            "software",
            actor,
            target,
            format,
            filter_partner_id=partner,
            filter_tenant_id=None if tenant is None else str(tenant),
        ) as context:
            context["rows"] = write_records(
                target, format, SOFTWARE_COLUMNS, records, self._store_files
            )
            return int(context["rows"])

    # -- R21: the trail ------------------------------------------------------------------

    @guarded
    def trail(
        self,
        actor: Actor | str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[TrailEntry]:
        """The trail's rows (audit reads, admin actions, refusals) first seen in ``[start, end)``.

        Every partner's for the vendor's auditor or the operator; a partner's auditor
        reads its own partner's rows. Reading the trail is itself an audit read.
        """
        first = None if start is None else _validate.aware_utc("start", start)
        last = None if end is None else _validate.aware_utc("end", end)
        _, partner = self._audited(actor_or_name(actor), access.AUDIT_RECORDS, "trail")
        return self._trail.entries(first, last, partner)

    def _audited(
        self,
        actor: Actor | str | None,
        permission: access.Permission,
        action: str,
        partner_id: str | None = None,
        **detail: Any,
    ) -> tuple[AuditScope, str | None]:
        """Check the actor (a refusal is recorded), record the read; the partner to show."""
        try:
            scope = AuditScope.of(actor, permission)
            partner = scope.partner(partner_id)
        except AccessDenied as refusal:
            self._trail.refused(actor, f"audit.{action}", self._now(), str(refusal), self._log)
            raise
        self._trail.read(actor, f"audit.{action}", self._now(), partner_id=partner, **detail)
        return scope, partner

    def _exporting(
        self, export: str, actor: Actor | str | None, target: object, format: str, **context: Any
    ) -> contextlib.AbstractContextManager[dict[str, Any]]:
        """One ``ledger.audit_export`` line: what, where to, by whom, how many rows, the outcome."""
        where = _where(target)
        return logged(
            self._log,
            "ledger.audit_export",
            actor,
            export=export,
            target=where,
            format=format,
            **{name: value for name, value in context.items() if value is not None},
        )


def _where(target: object) -> str:
    return str(target) if isinstance(target, str | Path) else "<stream>"


EMPTY_DIGEST = AuditDigest(0, GENESIS)
