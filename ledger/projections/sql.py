"""The little SQL the views share: one statement text for SQLite and PostgreSQL.

Statements are written with ``?`` placeholders and ``{table}`` names; the
dialect turns them into ``%s`` and schema-qualified names for PostgreSQL.
Amounts are integer minor units and timestamps fixed-width UTC text, so
sums stay exact and text order is time order on both databases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TABLE_NAME = re.compile(r"\{(ledger_\w+)\}")

Row = Any  # sqlite3.Row or psycopg dict row: both support row["column"]
Params = Sequence[object]
Statement = tuple[str, Params]
Query = Callable[[str, Params], list[Row]]

TABLES = (
    "ledger_software",
    "ledger_activity",
    "ledger_credits",
    "ledger_refunds",
    "ledger_customers",
    "ledger_feed",
    "ledger_feed_owners",
    "ledger_webhooks",
    "ledger_audit_chain",
    "ledger_audit_tree",
)
#: Tables beside the views that a rebuild leaves as they are (what was published stays).
KEPT_TABLES = ("ledger_audit_digests",)
#: Retired indexes, named in DROP INDEX statements (qualified like tables on PostgreSQL).
RETIRED_INDEXES = ("ledger_activity_by_partner", "ledger_credits_by_month")


def grouped(statements: Sequence[Statement]) -> list[tuple[str, list[Params]]]:
    """Runs of the same statement text, for one ``executemany`` each.

    A batch's statements alternate between tables (an event adds an activity row,
    a feed item, a software update...), so runs of one text were short and most
    statements went to the database one by one. Statements that name one table
    each commute with those on other tables, so each table's statements are
    gathered, in their own order, into runs; a statement naming no table or
    several is a barrier that nothing moves across.
    """
    runs: list[tuple[str, list[Params]]] = []
    by_table: dict[str, list[tuple[str, list[Params]]]] = {}
    for template, params in statements:
        tables = _tables(template)
        if len(tables) != 1:
            for table_runs in by_table.values():
                runs.extend(table_runs)
            by_table.clear()
            runs.append((template, [params]))
            continue
        table_runs = by_table.setdefault(tables[0], [])
        if table_runs and table_runs[-1][0] == template:
            table_runs[-1][1].append(params)
        else:
            table_runs.append((template, [params]))
    for table_runs in by_table.values():
        runs.extend(table_runs)
    return runs


@lru_cache(maxsize=1024)
def _tables(template: str) -> tuple[str, ...]:
    """The view tables a statement names (``{ledger_...}``), each once."""
    return tuple(dict.fromkeys(_TABLE_NAME.findall(template)))


def execute_all(cursor: Any, dialect: Dialect, statements: Sequence[Statement]) -> None:
    """Execute statements in order, a run of the same text at a time."""
    for template, params in grouped(statements):
        if len(params) == 1:
            cursor.execute(dialect.render(template), params[0])
        else:
            cursor.executemany(dialect.render(template), params)


def timestamp(value: datetime) -> str:
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    if utc.year >= 1000:  # the same text as the format below, several times faster
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return utc.strftime(_TIMESTAMP_FORMAT)


def optional_timestamp(value: datetime | None) -> str | None:
    return None if value is None else timestamp(value)


def parse_timestamp(text: str) -> datetime:
    # fromisoformat reads the trailing Z as UTC and is several times faster than strptime.
    return datetime.fromisoformat(text)


def parse_optional_timestamp(text: str | None) -> datetime | None:
    return None if text is None else parse_timestamp(text)


@dataclass(frozen=True)
class Dialect:
    name: Literal["sqlite", "postgres"]
    schema: str = ""
    #: Appended to every table name: the rebuild writes into a shadow set of tables.
    suffix: str = ""

    def table(self, name: str) -> str:
        full = name + self.suffix if name in TABLES else name
        return f'"{self.schema}".{full}' if self.name == "postgres" else full

    def binary(self, column: str) -> str:
        """The column in code-point order (PostgreSQL sorts text by locale otherwise)."""
        return f'{column} COLLATE "C"' if self.name == "postgres" else column

    def shadow(self, suffix: str) -> Dialect:
        return Dialect(self.name, self.schema, suffix)

    def render(self, template: str) -> str:
        return _render(self, template)


@lru_cache(maxsize=512)
def _render(dialect: Dialect, template: str) -> str:
    text = template.format(**{t: dialect.table(t) for t in TABLES + KEPT_TABLES + RETIRED_INDEXES})
    return text.replace("?", "%s") if dialect.name == "postgres" else text
