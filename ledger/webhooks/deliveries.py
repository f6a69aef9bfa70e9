"""Each endpoint's delivery state, in the views' database but not a view.

A rebuild of the views must never move a delivery position, so this table is not
among the views' tables: it is operational state, written only by deliverers.
``position`` moves only after the endpoint answered 2xx, and only by the deliverer
that holds the endpoint's lease (``lease_owner`` until ``lease_until``, wall-clock
seconds), so one deliverer serves an endpoint at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import PersistenceError

from ledger.projections.sql import Dialect

__all__ = ["Deliveries", "DeliveryState"]

TABLE = "ledger_webhook_deliveries"


@dataclass(frozen=True)
class DeliveryState:
    position: int
    attempts: int
    next_attempt_at: float
    last_error: str | None
    last_delivered_at: float | None
    lease_owner: str | None
    lease_until: float


class Deliveries:
    def __init__(self, datastore: Any, dialect: Dialect) -> None:
        self._datastore = datastore
        self._dialect = dialect
        self._table = dialect.table(TABLE)

    def create(self) -> None:
        statement = (
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            " endpoint_id TEXT PRIMARY KEY, position BIGINT NOT NULL DEFAULT 0,"
            " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at DOUBLE PRECISION NOT NULL"
            " DEFAULT 0, last_error TEXT, last_delivered_at DOUBLE PRECISION,"
            " lease_owner TEXT, lease_until DOUBLE PRECISION NOT NULL DEFAULT 0)"
        )
        # Two deliverers starting together on PostgreSQL race on the catalogue; the
        # second finds the table the next time.
        for attempt in range(3):
            try:
                self._run(statement)
                return
            except PersistenceError:
                if attempt == 2:
                    raise

    def claim(self, endpoint_id: str, owner: str, now: float, lease: float) -> bool:
        """Take (or renew) the endpoint's lease; False while another deliverer holds it."""
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self._table} (endpoint_id) VALUES (?) ON CONFLICT DO NOTHING"
                ),
                (endpoint_id,),
            )
            cursor.execute(
                self._sql(
                    f"UPDATE {self._table} SET lease_owner = ?, lease_until = ?"
                    " WHERE endpoint_id = ? AND (lease_owner IS NULL OR lease_owner = ?"
                    " OR lease_until < ?)"
                ),
                (owner, now + lease, endpoint_id, owner, now),
            )
            return _changed_one(cursor)

    def release(self, endpoint_id: str, owner: str) -> None:
        self._run(
            f"UPDATE {self._table} SET lease_owner = NULL, lease_until = 0"
            " WHERE endpoint_id = ? AND lease_owner = ?",
            (endpoint_id, owner),
        )

    def state(self, endpoint_id: str) -> DeliveryState | None:
        rows = self._rows(f"SELECT * FROM {self._table} WHERE endpoint_id = ?", (endpoint_id,))
        return _state(rows[0]) if rows else None

    def states(self) -> dict[str, DeliveryState]:
        return {
            str(row["endpoint_id"]): _state(row)
            for row in self._rows(f"SELECT * FROM {self._table}", ())
        }

    def delivered(
        self, endpoint_id: str, owner: str, after: int, position: int, now: float
    ) -> bool:
        """After a 2xx: move the position on, if this deliverer still holds the lease."""
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"UPDATE {self._table} SET position = ?, attempts = 0, next_attempt_at = 0,"
                    " last_error = NULL, last_delivered_at = ?"
                    " WHERE endpoint_id = ? AND lease_owner = ? AND position = ?"
                ),
                (position, now, endpoint_id, owner, after),
            )
            return _changed_one(cursor)

    def failed(self, endpoint_id: str, owner: str, error: str, retry_at: float) -> None:
        self._run(
            f"UPDATE {self._table} SET attempts = attempts + 1, last_error = ?,"
            " next_attempt_at = ? WHERE endpoint_id = ? AND lease_owner = ?",
            (error[:500], retry_at, endpoint_id, owner),
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._dialect.name == "postgres" else statement

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._datastore.transaction(commit=True) as cursor:
            yield cursor

    def _run(self, statement: str, params: tuple[object, ...] = ()) -> None:
        with self._cursor() as cursor:
            cursor.execute(self._sql(statement), params)

    def _rows(self, statement: str, params: tuple[object, ...]) -> list[Any]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement), params)
            return list(cursor.fetchall())


def _changed_one(cursor: Any) -> bool:
    # eventsourcing wraps sqlite3's cursor (the wrapper has no rowcount); psycopg's has it.
    return bool(getattr(cursor, "sqlite_cursor", cursor).rowcount == 1)


def _state(row: Any) -> DeliveryState:
    return DeliveryState(
        position=int(row["position"]),
        attempts=int(row["attempts"]),
        next_attempt_at=float(row["next_attempt_at"]),
        last_error=row["last_error"],
        last_delivered_at=None
        if row["last_delivered_at"] is None
        else float(row["last_delivered_at"]),
        lease_owner=row["lease_owner"],
        lease_until=float(row["lease_until"]),
    )
