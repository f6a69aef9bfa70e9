"""R18a and R18b: the views rebuilt from history and compared with the live ones, and the
views as they stood at a past instant.

Both replay into `ledger.projections.replay.ScratchViews`, a temporary SQLite
file, so the history's length costs disk, not memory. The comparison is an
ordered merge: each table is read from the live views and from the replay
in key order, a page at a time, inside one read snapshot of the live views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Unpack
from uuid import UUID

from ledger import _validate
from ledger._signatures import with_keywords_spelled_out
from ledger.aggregates.base import LedgerEvent
from ledger.audit.scope import AuditScope
from ledger.errors import InvalidInput
from ledger.eventstore import EventStoreApplication
from ledger.projections import activity_log, monthly_credits, refund_requests, software_list
from ledger.projections.replay import Progress, ScratchViews, replay
from ledger.projections.sql import Row
from ledger.projections.views import LedgerViews, ReadSnapshot
from ledger.sealing import Trust
from ledger.values import (
    ActivityEntry,
    ActivityFilter,
    CreditStatement,
    RefundRequest,
    SoftwareItem,
)

__all__ = ["HistoricalViews", "RebuildReport", "as_of", "compare_with_replay"]

#: Each view table and the unique key it is compared in.
VIEW_KEYS = {
    "ledger_software": ("order_id", False),
    "ledger_activity": ("position", True),
    "ledger_credits": ("position", True),
    "ledger_refunds": ("refund_id", False),
    "ledger_customers": ("registration", False),
    "ledger_feed": ("position", True),
    "ledger_feed_owners": ("stream_id", False),
    "ledger_webhooks": ("endpoint_id", False),
}
PAGE = 2000
MAX_DIFFERENCES = 50


@dataclass(frozen=True)
class RebuildReport:
    """Outcome of `Audit.rebuild`: rebuilt row counts per view and any differing rows."""

    matches: bool
    rows: dict[str, int]
    differences: tuple[str, ...] = field(default_factory=tuple)
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "matches": self.matches,
            "rows": dict(self.rows),
            "differences": list(self.differences),
            "position": self.position,
        }


class HistoricalViews:
    """The views as they stood at an instant (R18b). Close it (or use ``with``) when done."""

    def __init__(
        self,
        instant: datetime,
        views: ScratchViews,
        scope: AuditScope | None = None,
        tenant_id: UUID | None = None,
    ) -> None:
        self.instant = instant
        self._views = views
        #: Whose records these views may show (R21): an auditor's own partner, or all.
        self.scope = scope or AuditScope()
        #: The one customer these views were built for (``as_of(tenant_id=)``), or None: all.
        self.tenant_id = tenant_id

    def software(self, tenant_id: UUID) -> list[SoftwareItem]:
        return software_list.for_tenant(
            self._views.query, self._tenant("tenant_id", tenant_id), self.scope.partner(None)
        )

    @with_keywords_spelled_out
    def activity_log(
        self,
        partner_id: str,
        start: date | datetime,
        end: date | datetime,
        **filters: Unpack[ActivityFilter],
    ) -> list[ActivityEntry]:
        """The partner's activity log as it stood (`ActivityFilter`: the live log's keywords)."""
        partner = self.scope.partner(_validate.text("partner_id", partner_id))
        if self.tenant_id is not None:
            filters["tenant_id"] = self._tenant("tenant_id", filters.get("tenant_id"))
        selection = activity_log.select(start, end, partner, **filters)
        return activity_log.entries(self._views.query, selection)

    def monthly_credits(self, partner_id: str, month: str) -> CreditStatement:
        self._whole("monthly credits")
        partner = self.scope.partner(_validate.text("partner_id", partner_id))
        assert partner is not None
        return monthly_credits.for_month(
            self._views.query, partner, _validate.month("month", month)
        )

    def refunds(self, partner_id: str | None = None) -> list[RefundRequest]:
        self._whole("refunds")
        partner = None if partner_id is None else _validate.text("partner_id", partner_id)
        return refund_requests.listing(self._views.query, self.scope.partner(partner))

    def _tenant(self, field: str, asked: UUID | None) -> UUID:
        """The tenant asked for; in one tenant's views, that tenant (and only it)."""
        if asked is None and self.tenant_id is not None:
            return self.tenant_id
        tenant = _validate.uuid(field, asked)
        if self.tenant_id is not None and tenant != self.tenant_id:
            raise InvalidInput(
                field, f"these views hold tenant {self.tenant_id} alone: as_of(tenant_id=) it"
            )
        return tenant

    def _whole(self, what: str) -> None:
        if self.tenant_id is not None:
            raise InvalidInput(
                "tenant_id",
                f"{what} are a partner's, and these views hold tenant {self.tenant_id} alone:"
                " open as_of without tenant_id",
            )

    def close(self) -> None:
        self._views.close()

    def __enter__(self) -> HistoricalViews:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def as_of(
    events: EventStoreApplication,
    trust: Trust,
    instant: datetime,
    progress: Progress | None = None,
    scope: AuditScope | None = None,
) -> HistoricalViews:
    """The views built from every event recorded at or before ``instant``."""

    def keep(event: LedgerEvent) -> bool:
        return event.timestamp <= instant

    scratch = ScratchViews()
    try:
        replay(events, trust, scratch, keep=keep, progress=progress).raise_failure()
    except BaseException:
        scratch.close()
        raise
    return HistoricalViews(instant, scratch.ready(), scope)


def compare_with_replay(
    events: EventStoreApplication,
    views: LedgerViews,
    trust: Trust,
    progress: Progress | None = None,
) -> RebuildReport:
    """Replay the history up to the live views' position and compare, table by table."""
    position, _ = views.chain_head()
    with ScratchViews() as scratch:
        built = replay(events, trust, scratch, stop=position, progress=progress)
        with views.read_snapshot() as live:
            now_at, _ = live.chain_head()
            if now_at > built.position and built.failure is None:
                # Applied live while we replayed: the snapshot is what we compare with.
                built = replay(
                    events,
                    trust,
                    scratch,
                    after=built.position,
                    head=built.head,
                    tree=built.tree,
                    stop=now_at,
                )
            differences: list[str] = []
            if built.position != now_at:
                differences.append(
                    f"the live views are at position {now_at}, the history replays to"
                    f" {built.position}"
                    + ("" if built.failure is None else f" ({built.failure.problem})")
                )
            rows: dict[str, int] = {}
            for table, (key, numeric) in VIEW_KEYS.items():
                rows[table] = _merge(table, key, numeric, live, scratch, differences)
        shown = tuple(differences[:MAX_DIFFERENCES])
        if len(differences) > MAX_DIFFERENCES:
            shown += (f"... and {len(differences) - MAX_DIFFERENCES} more",)
        return RebuildReport(
            matches=not differences, rows=rows, differences=shown, position=built.position
        )


def _plain(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    # Both sides come from the same DDL: the values in column order are the row.
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _merge(
    table: str,
    key: str,
    numeric: bool,
    live: ReadSnapshot,
    scratch: ScratchViews,
    differences: list[str],
) -> int:
    """Count the rebuilt rows and note every row that differs, reading both sides in key order."""
    rebuilt_rows = scratch.scan(f"SELECT * FROM {{{table}}} ORDER BY {key}")
    live_rows = _pages(live, table, key, numeric)
    count = 0
    a = next(live_rows, None)
    b = next(rebuilt_rows, None)
    columns: list[str] = list(b.keys()) if b is not None else []
    while a is not None or b is not None:
        if b is not None and not columns:
            columns = list(b.keys())
        if a is not None and not columns:
            columns = list(a.keys())
        a_key = None if a is None else a[key]
        b_key = None if b is None else b[key]
        if b is None or (a is not None and _before(a_key, b_key)):
            differences.append(f"{table}: live row {key}={a_key} is not in the rebuilt views")
            a = next(live_rows, None)
            continue
        count += 1
        if a is None or _before(b_key, a_key):
            differences.append(f"{table}: rebuilt row {key}={b_key} is missing from the live views")
            b = next(rebuilt_rows, None)
            continue
        if _plain(a, columns) != _plain(b, columns):
            differences.append(
                f"{table}: live {_plain(a, columns)!r} != rebuilt {_plain(b, columns)!r}"
            )
        a, b = next(live_rows, None), next(rebuilt_rows, None)
    return count


def _before(a: Any, b: Any) -> bool:
    # Text keys compare by code point on both sides (the live query orders them the same way).
    return bool(a < b)


def _pages(live: ReadSnapshot, table: str, key: str, numeric: bool) -> Iterator[Row]:
    last: Any = None
    order = key if numeric else live.dialect.binary(key)
    while True:
        if last is None:
            rows = live.query(f"SELECT * FROM {{{table}}} ORDER BY {order} LIMIT {PAGE}", ())
        else:
            rows = live.query(
                f"SELECT * FROM {{{table}}} WHERE {order} > ? ORDER BY {order} LIMIT {PAGE}",
                (last,),
            )
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1][key]


Prepare = Callable[[], None]
