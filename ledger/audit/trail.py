"""The ledger's own trail (R21): audit reads, admin actions and refused attempts, in the store.

Who (user, roles, partner or tenant), what (the call, and what it asked for), when
(the ledger's clock), why it was refused, and the origin the caller gave, in the
table ``ledger_trail``. It sits in the views' database but is not a view: a rebuild
of the views never touches it, and no event is written for it, so a refused call
writes its trail row and nothing else.

Refusals are bounded. The same refusal (same actor, call, reason and origin) in the
same UTC minute is one row whose ``count`` grows; and once `REFUSALS_PER_MINUTE`
different refusals were recorded in a minute, the rest of that minute go to one
overflow row. However hard a caller floods, the table grows by at most
``REFUSALS_PER_MINUTE + 1`` rows a minute. Reads and admin actions are a row each:
they are what an auditor asks about, and only an allowed actor makes them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ledger import logs
from ledger._json import JSONReady
from ledger.projections.sql import Dialect, parse_timestamp, timestamp
from ledger.values import Actor

__all__ = ["REFUSALS_PER_MINUTE", "TABLE", "Trail", "TrailEntry", "TrailKind"]

TABLE = "ledger_trail"
REFUSALS_PER_MINUTE = 100
TrailKind = Literal["read", "admin", "refused"]
COLUMNS = (
    "kind",
    "first_at",
    "last_at",
    "count",
    "user",
    "roles",
    "partner_id",
    "tenant_id",
    "action",
    "detail",
    "reason",
    "origin",
)
_TEXT_LIMIT = 300


def ddl(dialect: Dialect) -> tuple[str, ...]:
    table = dialect.table(TABLE)
    # The order rows were written in, however close their times (one clock tick).
    position = (
        "position BIGSERIAL PRIMARY KEY"
        if dialect.name == "postgres"
        else "position INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ({position},"
        " entry_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, minute TEXT NOT NULL,"
        " first_at TEXT NOT NULL, last_at TEXT NOT NULL, count BIGINT NOT NULL,"
        ' "user" TEXT, roles TEXT NOT NULL, partner_id TEXT, tenant_id TEXT,'
        " action TEXT NOT NULL, detail TEXT NOT NULL, reason TEXT, origin TEXT)",
        f"CREATE INDEX IF NOT EXISTS ledger_trail_by_time ON {table} (first_at)",
        f"CREATE INDEX IF NOT EXISTS ledger_trail_by_minute ON {table} (kind, minute)",
    )


@dataclass(frozen=True, slots=True)
class TrailEntry(JSONReady):
    """One row of the trail: ``count`` is how many times it happened between the two times."""

    kind: str
    first_at: datetime
    last_at: datetime
    count: int
    user: str | None
    roles: tuple[str, ...]
    partner_id: str | None
    tenant_id: str | None
    action: str
    detail: dict[str, Any]
    reason: str | None
    origin: str | None


class Trail:
    def __init__(self, datastore: Any, dialect: Dialect, origin: str | None = None) -> None:
        self._datastore = datastore
        self._dialect = dialect
        self._table = dialect.table(TABLE)
        #: Where this ledger's calls come from, as its opener said (a host, a service).
        self.origin = origin

    def create_tables(self) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            for statement in ddl(self._dialect):
                cursor.execute(statement)

    def read(self, actor: Actor | str | None, action: str, at: datetime, **detail: Any) -> None:
        """An audit read: its own row, written before the read is served."""
        self._insert("read", actor, action, at, detail, None, secrets.token_hex(16))

    def admin(self, actor: Actor | str | None, action: str, at: datetime, **detail: Any) -> None:
        """An admin action (a rebuild, a rewrap, an export): its own row."""
        self._insert("admin", actor, action, at, detail, None, secrets.token_hex(16))

    def refused(
        self, actor: Actor | str | None, action: str, at: datetime, reason: str, log: Any
    ) -> None:
        """A refused attempt, counted into its minute's row; never raises.

        The refusal itself is what the caller must see: a trail that cannot be written
        (the store is down, the role may not write it) is logged as a warning instead.
        """
        minute = timestamp(at)[:16]
        fields = _who(actor)
        key = _digest("refused", minute, fields, action, reason, self.origin)
        try:
            with self._datastore.transaction(commit=True) as cursor:
                if not self._bump(cursor, key, at):
                    if self._refusals_in(cursor, minute) >= REFUSALS_PER_MINUTE:
                        key = _digest("overflow", minute, {}, "", "", None)
                        if self._bump(cursor, key, at):
                            return
                        fields, action = {"user": None, "roles": "", "partner_id": None}, "*"
                        reason = f"more than {REFUSALS_PER_MINUTE} refusals in this minute"
                    self._write(cursor, key, "refused", minute, at, fields, action, {}, reason)
        except Exception as error:  # the refusal wins over its record
            logs.emit(
                log, "warning", "ledger.trail_unwritten", action=action, error=str(error)[:200]
            )

    def entries(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        partner_id: str | None = None,
        limit: int = 10_000,
    ) -> list[TrailEntry]:
        """The rows whose first time is in ``[start, end)``, oldest first (of one partner)."""
        where, params = ["1 = 1"], []
        if start is not None:
            where.append("first_at >= ?")
            params.append(timestamp(start))
        if end is not None:
            where.append("first_at < ?")
            params.append(timestamp(end))
        if partner_id is not None:
            where.append("partner_id = ?")
            params.append(partner_id)
        statement = (
            f"SELECT * FROM {self._table} WHERE {' AND '.join(where)}"
            f" ORDER BY first_at, position LIMIT {int(limit)}"
        )
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement), params)
            return [_entry(row) for row in cursor.fetchall()]

    # -- plumbing ----------------------------------------------------------------------------

    def _insert(
        self,
        kind: TrailKind,
        actor: Actor | str | None,
        action: str,
        at: datetime,
        detail: dict[str, Any],
        reason: str | None,
        key: str,
    ) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            minute = timestamp(at)[:16]
            self._write(cursor, key, kind, minute, at, _who(actor), action, detail, reason)

    def _bump(self, cursor: Any, key: str, at: datetime) -> bool:
        cursor.execute(
            self._sql(
                f"UPDATE {self._table} SET count = count + 1, last_at = ? WHERE entry_key = ?"
            ),
            (timestamp(at), key),
        )
        return _changed(cursor)

    def _refusals_in(self, cursor: Any, minute: str) -> int:
        cursor.execute(
            self._sql(f"SELECT COUNT(*) AS n FROM {self._table} WHERE kind = ? AND minute = ?"),
            ("refused", minute),
        )
        row = cursor.fetchone()
        return int(row["n"] if not isinstance(row, tuple) else row[0])

    def _write(
        self,
        cursor: Any,
        key: str,
        kind: TrailKind,
        minute: str,
        at: datetime,
        who: dict[str, Any],
        action: str,
        detail: dict[str, Any],
        reason: str | None,
    ) -> None:
        cursor.execute(
            self._sql(
                f"INSERT INTO {self._table} (entry_key, kind, minute, first_at, last_at, count,"
                ' "user", roles, partner_id, tenant_id, action, detail, reason, origin)'
                " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                key,
                kind,
                minute,
                timestamp(at),
                timestamp(at),
                who.get("user"),
                who.get("roles", ""),
                who.get("partner_id"),
                who.get("tenant_id"),
                _clip(action),
                json.dumps({k: str(v) for k, v in detail.items() if v is not None}),
                None if reason is None else _clip(reason),
                None if self.origin is None else _clip(self.origin),
            ),
        )

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._dialect.name == "postgres" else statement


def _who(actor: Actor | str | None) -> dict[str, Any]:
    if isinstance(actor, Actor):
        return {
            "user": _clip(actor.user),
            "roles": ",".join(sorted(role.value for role in actor.roles)),
            "partner_id": None if actor.partner_id is None else _clip(actor.partner_id),
            "tenant_id": None if actor.tenant_id is None else str(actor.tenant_id),
        }
    return {"user": None if actor is None else _clip(actor), "roles": ""}


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _changed(cursor: Any) -> bool:
    # eventsourcing wraps sqlite3's cursor (the wrapper has no rowcount); psycopg's has it.
    return bool(getattr(cursor, "sqlite_cursor", cursor).rowcount == 1)


def _entry(row: Any) -> TrailEntry:
    roles = str(row["roles"] or "")
    return TrailEntry(
        kind=str(row["kind"]),
        first_at=parse_timestamp(row["first_at"]),
        last_at=parse_timestamp(row["last_at"]),
        count=int(row["count"]),
        user=row["user"],
        roles=tuple(role for role in roles.split(",") if role),
        partner_id=row["partner_id"],
        tenant_id=row["tenant_id"],
        action=str(row["action"]),
        detail=json.loads(row["detail"]),
        reason=row["reason"],
        origin=row["origin"],
    )
