"""The key table beside the events (R14): the store's key check value and its wrapped keys.

Two tables, in the same database (and PostgreSQL schema) as the events:

``ledger_key_check``
    one row: the check value (`ledger.keys.key_id`) of the secret key the
    store is sealed under. Never the key.
``ledger_wrapped_keys``
    ``name`` (``order:<uuid>`` for an order's data key, ``root`` for the
    store's root key, ``legacy`` for the secret key of licences sealed before
    envelope encryption), ``key_id`` (which secret key wraps it) and
    ``wrapped`` (base64 of nonce and AES-256-GCM ciphertext).

Back these tables up with the events: without a data key its licence key
cannot be read. This module only moves rows; `ledger.keys` does the crypto.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

from ledger.faults import reading

__all__ = ["DDL", "KEY_TABLES", "Keyring", "WrappedKey"]

KEY_TABLES = ("ledger_key_check", "ledger_wrapped_keys")
_STORE = "ledger"

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_key_check} ( store TEXT PRIMARY KEY, key_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {ledger_wrapped_keys} ("
    " name TEXT PRIMARY KEY, key_id TEXT NOT NULL, wrapped TEXT NOT NULL)",
    # Rotation finds the keys wrapped under another key by range scans on key_id.
    "CREATE INDEX IF NOT EXISTS ledger_wrapped_keys_by_key_id"
    " ON {ledger_wrapped_keys} (key_id, name)",
)


class WrappedKey(NamedTuple):
    key_id: str  # the check value of the secret key it is wrapped under
    wrapped: str  # base64(nonce ‖ AES-256-GCM ciphertext)


Statement = tuple[str, Sequence[object]]
T = TypeVar("T")


class Keyring:
    """Rows of the key table, through the event store's own datastore (SQLite or PostgreSQL)."""

    def __init__(
        self, datastore: Any, kind: Literal["sqlite", "postgres"], schema: str = "public"
    ) -> None:
        self._datastore = datastore
        self._kind = kind
        self._schema = schema

    def _sql(self, template: str) -> str:
        if self._kind == "postgres":
            names = {t: f'"{self._schema}".{t}' for t in KEY_TABLES}
            return template.format(**names).replace("?", "%s")
        return template.format(**{t: t for t in KEY_TABLES})

    def _in_transaction(self, body: Callable[[Any], T], *, commit: bool) -> T:
        # Every statement here is safe to run again (reads, inserts that keep an existing
        # row, updates conditional on the old value): a dropped connection is retried.
        def attempt() -> T:
            with self._datastore.transaction(commit=commit) as cursor:
                return body(cursor)

        return reading(attempt)

    def _run(self, statements: Sequence[Statement], *, commit: bool) -> list[Any]:
        """Run the statements in one transaction; the rows of the last one."""

        def body(cursor: Any) -> list[Any]:
            for template, params in statements:
                cursor.execute(self._sql(template), tuple(params))
            last = statements[-1][0] if statements else ""
            return list(cursor.fetchall()) if last.startswith("SELECT") else []

        return self._in_transaction(body, commit=commit)

    def create_tables(self) -> None:
        self._run([(ddl, ()) for ddl in DDL], commit=True)

    # -- the key check ---------------------------------------------------------------------

    def recorded_key_id(self) -> str | None:
        rows = self._run(
            [("SELECT key_id FROM {ledger_key_check} WHERE store = ?", (_STORE,))], commit=False
        )
        return str(rows[0]["key_id"]) if rows else None

    def initialise(self, key_id: str, *, root: WrappedKey) -> str:
        """Record the key check and the root key unless another process did; the recorded id."""
        rows = self._run(
            [
                (
                    "INSERT INTO {ledger_key_check} (store, key_id) VALUES (?, ?)"
                    " ON CONFLICT (store) DO NOTHING",
                    (_STORE, key_id),
                ),
                (
                    "INSERT INTO {ledger_wrapped_keys} (name, key_id, wrapped) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    ("root", *root),
                ),
                ("SELECT key_id FROM {ledger_key_check} WHERE store = ?", (_STORE,)),
            ],
            commit=True,
        )
        return str(rows[0]["key_id"])

    def replace_recorded_key_id(self, old: str, new: str) -> None:
        """Rotation: the store is sealed under ``new`` from now on (if still at ``old``)."""
        self._run(
            [
                (
                    "UPDATE {ledger_key_check} SET key_id = ? WHERE store = ? AND key_id = ?",
                    (new, _STORE, old),
                )
            ],
            commit=True,
        )

    # -- wrapped keys ----------------------------------------------------------------------

    def get(self, name: str) -> WrappedKey | None:
        rows = self._run(
            [("SELECT key_id, wrapped FROM {ledger_wrapped_keys} WHERE name = ?", (name,))],
            commit=False,
        )
        return WrappedKey(str(rows[0]["key_id"]), str(rows[0]["wrapped"])) if rows else None

    def add(self, name: str, key: WrappedKey) -> WrappedKey:
        """Store ``key`` under ``name`` unless a key is there already; the key stored."""
        rows = self._run(
            [
                # Written before it is read: on SQLite a read-then-write transaction of
                # another process would fail at once instead of waiting its turn.
                (
                    "INSERT INTO {ledger_wrapped_keys} (name, key_id, wrapped) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    (name, *key),
                ),
                ("SELECT key_id, wrapped FROM {ledger_wrapped_keys} WHERE name = ?", (name,)),
            ],
            commit=True,
        )
        return WrappedKey(str(rows[0]["key_id"]), str(rows[0]["wrapped"]))

    def key_ids_other_than(self, allowed: Sequence[str]) -> set[str]:
        """The key ids outside ``allowed`` that wrap some key, by range scans between them.

        Cost is a few index probes per key id, whatever the number of orders.
        """
        bounds = sorted(set(allowed))

        def body(cursor: Any) -> set[str]:
            found: set[str] = set()
            for gap_start, high in zip([None, *bounds], [*bounds, None], strict=True):
                low = gap_start
                while (key := self._first_key_id_between(cursor, low, high)) is not None:
                    found.add(key)
                    low = key
            return found

        return self._in_transaction(body, commit=False)

    def _first_key_id_between(self, cursor: Any, low: str | None, high: str | None) -> str | None:
        conditions, params = [], []
        if low is not None:
            conditions.append("key_id > ?")
            params.append(low)
        if high is not None:
            conditions.append("key_id < ?")
            params.append(high)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        cursor.execute(
            self._sql(f"SELECT key_id FROM {{ledger_wrapped_keys}}{where} ORDER BY key_id LIMIT 1"),
            tuple(params),
        )
        row = cursor.fetchone()
        return None if row is None else str(row["key_id"])

    def wrapped_under_other_keys(self, key_id: str, *, limit: int) -> dict[str, WrappedKey]:
        """Up to ``limit`` keys wrapped under any key but ``key_id``."""
        found: dict[str, WrappedKey] = {}
        for comparison in ("<", ">"):
            if len(found) >= limit:
                break
            rows = self._run(
                [
                    (
                        "SELECT name, key_id, wrapped FROM {ledger_wrapped_keys}"
                        f" WHERE key_id {comparison} ? ORDER BY key_id, name LIMIT ?",
                        (key_id, limit - len(found)),
                    )
                ],
                commit=False,
            )
            for row in rows:
                found[str(row["name"])] = WrappedKey(str(row["key_id"]), str(row["wrapped"]))
        return found

    def replace(self, old: Mapping[str, WrappedKey], new: Mapping[str, WrappedKey]) -> int:
        """Rewrap in one transaction; a row another process changed meanwhile is left alone."""

        def body(cursor: Any) -> int:
            replaced = 0
            for name, key in new.items():
                cursor.execute(
                    self._sql(
                        "UPDATE {ledger_wrapped_keys} SET key_id = ?, wrapped = ?"
                        " WHERE name = ? AND key_id = ?"
                    ),
                    (key.key_id, key.wrapped, name, old[name].key_id),
                )
                replaced += _rowcount(cursor)
            return replaced

        return self._in_transaction(body, commit=True)

    def count(self) -> int:
        """How many wrapped keys the store holds (for tests and checks)."""
        rows = self._run([("SELECT COUNT(*) AS n FROM {ledger_wrapped_keys}", ())], commit=False)
        return int(rows[0]["n"])


def _rowcount(cursor: Any) -> int:
    # eventsourcing hands out its own SQLiteCursor wrapper, which keeps sqlite3's inside.
    raw = getattr(cursor, "sqlite_cursor", cursor)
    return max(int(raw.rowcount), 0)
