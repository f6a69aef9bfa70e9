"""Replaying the event log into views that are not the live ones (R18a, R18b, §6 rebuild).

`replay` reads the log in batches, checks every event exactly as the live
projector does (seal, then decoding; `ledger.projections.updater`) and hands
the statements of each batch to a target. `ScratchViews` is such a target:
the same tables in a private SQLite file that is deleted on close, so a
replay of any length costs disk, not memory.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from eventsourcing.persistence import Notification

from ledger.aggregates.base import LedgerEvent
from ledger.errors import EventDecodingError, ProjectionError
from ledger.eventstore import EventStoreApplication
from ledger.mapper import PydanticMapper
from ledger.merkle import Frontier
from ledger.projections import audit_chain, audit_tree
from ledger.projections.sql import Dialect, Params, Row, Statement, execute_all
from ledger.projections.views import DDL, statements_for
from ledger.sealing import GENESIS, Trust

__all__ = ["Progress", "Replayed", "ScratchViews", "Target", "replay"]

Progress = Callable[[int, int], None]
READ_BATCH = 2000


@dataclass(frozen=True)
class Replayed:
    """Where a replay stopped: the last position applied, its chain hash, and why it stopped."""

    position: int
    head: str
    failure: ProjectionError | None = None
    #: The Merkle tree's frontier at ``position``.
    tree: Frontier | None = None

    def raise_failure(self) -> Replayed:
        if self.failure is not None:
            raise ProjectionError(self.failure.position, self.failure.problem)
        return self


class Target(Protocol):
    def write(self, statements: Sequence[Statement]) -> None: ...


def _is_index(ddl: str) -> bool:
    return ddl.lstrip().upper().startswith(("CREATE INDEX", "DROP INDEX"))


TABLE_DDL = tuple(ddl for ddl in DDL if not _is_index(ddl))
INDEX_DDL = tuple(ddl for ddl in DDL if _is_index(ddl))


class ScratchViews:
    """The views (and chain links) in a temporary SQLite file: bounded memory at any size."""

    def __init__(self) -> None:
        self.dialect = Dialect("sqlite")
        handle, name = tempfile.mkstemp(prefix="ledger-replay-", suffix=".db")
        os.close(handle)
        self.path = Path(name)
        self._conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        # A throw-away database: no journal, no fsync, a bounded page cache.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-32768"):
            self._conn.execute(f"PRAGMA {pragma}")
        for ddl in TABLE_DDL:
            self._conn.execute(self.dialect.render(ddl))
        self._indexed = False
        self._finalizer = weakref.finalize(self, _discard, self._conn, self.path)

    def write(self, statements: Sequence[Statement]) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        execute_all(conn, self.dialect, statements)
        conn.execute("COMMIT")

    def ready(self) -> ScratchViews:
        """Add the query indexes once the replay is done (cheaper than maintaining them)."""
        if not self._indexed:
            for ddl in INDEX_DDL:
                self._conn.execute(self.dialect.render(ddl))
            self._indexed = True
        return self

    def query(self, template: str, params: Params) -> list[Row]:
        return list(self._conn.execute(self.dialect.render(template), params))

    def scan(self, template: str, params: Params = ()) -> Iterator[Row]:
        """Rows one at a time (sqlite3 fetches them lazily)."""
        return iter(self._conn.execute(self.dialect.render(template), params))

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> ScratchViews:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _discard(conn: sqlite3.Connection, path: Path) -> None:
    conn.close()
    for leftover in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def notifications(
    events: EventStoreApplication,
    after: int = 0,
    stop: int | None = None,
    batch: int = READ_BATCH,
    topics: Sequence[str] = (),
) -> Iterator[Sequence[Notification]]:
    """The stored log after ``after`` (up to ``stop``, only ``topics``), a batch at a time."""
    position = after
    while True:
        rows = events.recorder.select_notifications(
            start=position, limit=batch, stop=stop, topics=topics, inclusive_of_start=False
        )
        if not rows:
            return
        yield rows
        position = rows[-1].id


def replay(
    events: EventStoreApplication,
    trust: Trust,
    target: Target,
    *,
    keep: Callable[[LedgerEvent], bool] | None = None,
    after: int = 0,
    head: str = GENESIS,
    tree: Frontier | None = None,
    stop: int | None = None,
    progress: Progress | None = None,
) -> Replayed:
    """Apply the log (after ``after``, through ``stop``) to ``target`` with its chain links.

    ``keep`` leaves events out of the views (an as-of replay); every event is
    still checked and linked. The replay stops before a damaged event, as the
    live projector does, and says so in `Replayed.failure`.
    """
    if tree is None and after:
        raise ValueError("a replay that starts after the first event needs the tree there")
    walker = trust.walker(head, after, Frontier() if tree is None else tree.copy())
    assert walker.tree is not None
    key = trust.key
    mapper = events.mapper
    assert isinstance(mapper, PydanticMapper)
    total = stop if stop is not None else events.recorder.max_notification_id() or 0
    for batch in notifications(events, after, stop):
        statements: list[Statement] = []
        links: list[Statement] = []
        # Apart from the links, so that each kind is one executemany run.
        nodes: list[Statement] = []
        failure: ProjectionError | None = None
        reached = (walker.position, walker.head, walker.tree.copy())
        for notification in batch:
            reached = (walker.position, walker.head, walker.tree.copy())
            step = walker.step(notification)
            if step.problem is not None:
                failure = ProjectionError(notification.id, step.problem)
                break
            try:
                event = mapper.decode(notification, step.body)
            except EventDecodingError as error:
                failure = ProjectionError(notification.id, str(error))
                break
            assert isinstance(event, LedgerEvent)
            if keep is None or keep(event):
                statements.extend(statements_for(event, notification.id))
            links.append(audit_chain.insert_link(notification.id, step.link))
            nodes.append(audit_tree.tree_row(key, notification.id, step))
        target.write(statements + links + nodes)
        if failure is not None:
            return Replayed(reached[0], reached[1], failure, reached[2])
        if progress is not None:
            progress(batch[-1].id, max(total, batch[-1].id))
    return Replayed(walker.position, walker.head, tree=walker.tree)
