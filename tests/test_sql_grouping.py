"""`ledger.projections.sql.grouped` gathers each table's statements into runs: the tables end
as they would statement by statement (hypothesis, against running them in their order)."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from ledger.projections.sql import Dialect, Statement, execute_all, grouped

TEMPLATES = (
    "INSERT INTO {ledger_software} (k, v) VALUES (?, ?)",
    "UPDATE {ledger_software} SET v = v * 2 + ? WHERE k = ?",
    "INSERT INTO {ledger_activity} (k, v) VALUES (?, ?)",
    "UPDATE {ledger_activity} SET v = v - ? WHERE k = ?",
    "DELETE FROM {ledger_feed} WHERE k = ? AND ? IS NOT NULL",
    "INSERT INTO {ledger_feed} (k, v) VALUES (?, ?)",
    # Names two tables: nothing may move across it.
    "INSERT INTO {ledger_feed} (k, v) SELECT ?, COUNT(*) + ? FROM {ledger_software}",
)
DIALECT = Dialect("sqlite")

statements = st.lists(
    st.tuples(st.sampled_from(TEMPLATES), st.tuples(st.integers(0, 3), st.integers(0, 3))).map(
        lambda t: (t[0], t[1][::-1] if t[0].startswith(("UPDATE", "DELETE")) else t[1])
    ),
    max_size=40,
)


def _tables_after(batch: list[Statement], *, in_runs: bool) -> list[list[tuple[int, int]]]:
    conn = sqlite3.connect(":memory:")
    for table in ("ledger_software", "ledger_activity", "ledger_feed"):
        conn.execute(f"CREATE TABLE {table} (k INTEGER, v INTEGER)")
    cursor = conn.cursor()
    if in_runs:
        execute_all(cursor, DIALECT, batch)
    else:
        for template, params in batch:
            cursor.execute(DIALECT.render(template), params)
    return [
        sorted(conn.execute(f"SELECT k, v FROM {table} ORDER BY rowid").fetchall())
        for table in ("ledger_software", "ledger_activity", "ledger_feed")
    ]


@given(statements)
def test_runs_leave_every_table_as_one_statement_at_a_time_would(batch: list[Statement]) -> None:
    assert _tables_after(batch, in_runs=True) == _tables_after(batch, in_runs=False)


@given(statements)
def test_runs_keep_each_table_s_order_and_every_statement(batch: list[Statement]) -> None:
    runs = grouped(batch)
    flat = [(template, params) for template, many in runs for params in many]
    assert sorted(flat, key=repr) == sorted(batch, key=repr)
    for table in ("ledger_software", "ledger_activity", "ledger_feed"):
        mine = [s for s in batch if f"{{{table}}}" in s[0]]
        assert [s for s in flat if f"{{{table}}}" in s[0]] == mine


def test_one_table_s_inserts_of_a_batch_are_one_run() -> None:
    batch: list[Statement] = []
    for n in range(100):
        batch += [(TEMPLATES[0], (n, n)), (TEMPLATES[2], (n, n)), (TEMPLATES[5], (n, n))]
    assert [(template, len(params)) for template, params in grouped(batch)] == [
        (TEMPLATES[0], 100),
        (TEMPLATES[2], 100),
        (TEMPLATES[5], 100),
    ]
