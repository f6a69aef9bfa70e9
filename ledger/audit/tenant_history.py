"""One customer's views at a past instant without replaying everyone's history (R18b).

A full `ledger.audit.replay.as_of` walks the whole log: a minute over a million
events. One tenant's records live in a handful of streams (its customer
record, its orders, their licences and refunds), so this reads those streams
by their key and checks every event it uses as strictly as a walk would:

* the streams come from ``ledger_feed_owners`` (a view, compared with the
  history by ``audit.rebuild`` like every other) at the views' position, plus
  any stream of the tenant's that starts in the log after that position (the
  tail is walked, sealed and linked, event by event);
* each event's seal is checked with the audit key, and its chain link is
  recomputed from the link recorded before it and must equal the one recorded
  at its position: the event is the one the chain (and so any published
  digest) commits to;
* each stream's versions run 1, 2, 3, ... without a gap, so no event was cut
  out of the middle of a stream.

What this does not prove on its own is that no whole stream of the tenant's
is missing from the owners view: that is `Audit.verify` and `Audit.rebuild`
over the whole log (the evidence pack runs both).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger.aggregates.base import LedgerEvent
from ledger.aggregates.licence import Licence
from ledger.errors import EventDecodingError, ProjectionError
from ledger.eventstore import (
    EventStoreApplication,
    LedgerPostgresRecorder,
    LedgerSQLiteRecorder,
)
from ledger.mapper import PydanticMapper
from ledger.projections.replay import Progress, ScratchViews, notifications
from ledger.projections.sql import Statement
from ledger.projections.views import LedgerViews, ReadSnapshot, statements_for
from ledger.sealing import GENESIS, Step, Trust

__all__ = ["tenant_as_of"]

_OWNED = "SELECT stream_id, order_id FROM {ledger_feed_owners} WHERE tenant_id = ?"
#: Access records are streams of their own (one event each): the activity log has them.
_ACCESSED = "SELECT position FROM {ledger_activity} WHERE tenant_id = ?"
_CHUNK = 500
_WRITE_BATCH = 5000


def tenant_as_of(
    events: EventStoreApplication,
    views: LedgerViews,
    trust: Trust,
    instant: datetime,
    tenant_id: UUID,
    progress: Progress | None = None,
) -> ScratchViews:
    """Scratch views holding ``tenant_id``'s records from every event at or before ``instant``."""
    mapper = events.mapper
    assert isinstance(mapper, PydanticMapper)
    with views.read_snapshot() as snapshot:
        horizon, head = snapshot.chain_head()
        streams = _owned_streams(snapshot, tenant_id)
        recorded = [int(row["position"]) for row in snapshot.query(_ACCESSED, (str(tenant_id),))]
        tail = _walk_tail(events, trust, mapper, horizon, head, tenant_id, streams)
        rows = _stored(events, streams, recorded, max(tail, default=horizon))
        links = _recorded_links(snapshot, [row.id for row in rows if row.id <= horizon])
    scratch = ScratchViews()
    try:
        _apply(scratch, rows, tail, links, trust, mapper, instant, progress)
    except BaseException:
        scratch.close()
        raise
    return scratch.ready()


def _owned_streams(snapshot: ReadSnapshot, tenant_id: UUID) -> set[UUID]:
    """The tenant's streams the views know: customer, orders (with their licences), refunds."""
    streams: set[UUID] = set()
    for row in snapshot.query(_OWNED, (str(tenant_id),)):
        streams.add(UUID(row["stream_id"]))
        if row["order_id"] is not None and row["order_id"] == row["stream_id"]:
            streams.add(Licence.id_for(UUID(row["order_id"])))
    return streams


def _stored(
    events: EventStoreApplication, streams: set[UUID], recorded: list[int], end: int
) -> list[Notification]:
    """The tenant's stored events through ``end``, in log order; each recorded one must be there."""
    recorder = events.recorder
    assert isinstance(recorder, LedgerSQLiteRecorder | LedgerPostgresRecorder)
    found: dict[int, Notification] = {}
    ordered = sorted(streams)
    for start in range(0, len(ordered), _CHUNK):
        for row in recorder.select_notifications_of(ordered[start : start + _CHUNK]):
            found[row.id] = row
    for start in range(0, len(recorded), _CHUNK):
        for row in recorder.select_notifications_at(recorded[start : start + _CHUNK]):
            found[row.id] = row
    for position in recorded:
        if position not in found:
            raise ProjectionError(
                position, f"the activity log records position {position}, missing from the log"
            )
    return [found[position] for position in sorted(found) if position <= end]


def _walk_tail(
    events: EventStoreApplication,
    trust: Trust,
    mapper: PydanticMapper,
    after: int,
    head: str,
    tenant_id: UUID,
    streams: set[UUID],
) -> dict[int, Step]:
    """Walk the log past the views (checked and linked), adding the tenant's new streams."""
    walker = trust.walker(head, after)
    checked: dict[int, Step] = {}
    for batch in notifications(events, after):
        for row in batch:
            step = walker.step(row)
            if step.problem is not None:
                raise ProjectionError(row.id, step.problem)
            event = _decoded(mapper, row, step)
            if getattr(event, "tenant_id", None) == tenant_id:
                streams.add(_uuid(row.originator_id))
            checked[row.id] = step
    return checked


Links = dict[int, tuple[str, int, str]]


def _recorded_links(snapshot: ReadSnapshot, positions: Sequence[int]) -> Links:
    """Per position: the chain's recorded link there, and the position and link before it."""
    wanted = sorted({p for position in positions for p in (position, position - 1) if p > 0})
    recorded: dict[int, str] = {0: GENESIS}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in snapshot.query(
            f"SELECT position, hash FROM {{ledger_audit_chain}} WHERE position IN ({marks})",
            tuple(chunk),
        ):
            recorded[int(row["position"])] = str(row["hash"])
    links: Links = {}
    for position in positions:
        if position not in recorded:
            raise ProjectionError(position, f"position {position} has no link in the audit chain")
        before, link = position - 1, recorded.get(position - 1)
        if link is None:  # a gap in the positions (PostgreSQL's sequence skips on rollback)
            found = snapshot.query(
                "SELECT position, hash FROM {ledger_audit_chain} WHERE position < ?"
                " ORDER BY position DESC LIMIT 1",
                (position,),
            )
            before, link = (0, GENESIS)
            if found:
                before, link = int(found[0]["position"]), str(found[0]["hash"])
        links[position] = (recorded[position], before, link)
    return links


def _checked(row: Notification, links: Links, trust: Trust) -> Step:
    """The row's seal, and its chain link recomputed from the one recorded before it."""
    recorded, before, previous = links[row.id]
    step = trust.walker(previous, before).step(row)
    if step.problem is not None:
        raise ProjectionError(row.id, step.problem)
    if step.link != recorded:
        raise ProjectionError(
            row.id, f"position {row.id} is not the event the audit chain recorded there"
        )
    return step


def _apply(
    scratch: ScratchViews,
    rows: Sequence[Notification],
    tail: dict[int, Step],
    links: Links,
    trust: Trust,
    mapper: PydanticMapper,
    instant: datetime,
    progress: Progress | None,
) -> None:
    versions: dict[UUID, int] = {}
    statements: list[Statement] = []
    for done, row in enumerate(rows, 1):
        step = tail.get(row.id) or _checked(row, links, trust)
        stream = _uuid(row.originator_id)
        expected = versions.get(stream, 0) + 1
        if row.originator_version != expected:
            raise ProjectionError(
                row.id,
                f"stream {stream} jumps from version {expected - 1} to"
                f" {row.originator_version}: events are missing",
            )
        versions[stream] = expected
        event = _decoded(mapper, row, step)
        if event.timestamp <= instant:
            statements.extend(statements_for(event, row.id))
        if len(statements) >= _WRITE_BATCH:
            scratch.write(statements)
            statements = []
        if progress is not None and (done % 1000 == 0 or done == len(rows)):
            progress(done, len(rows))
    scratch.write(statements)


def _decoded(mapper: PydanticMapper, row: Notification, step: Step) -> LedgerEvent:
    try:
        event = mapper.decode(row, step.body)
    except EventDecodingError as error:
        raise ProjectionError(row.id, str(error)) from None
    assert isinstance(event, LedgerEvent)
    return event


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
