"""The B3 queries are index range scans in the order they return (SQLite's plans).

A page, a month of credits or a software list must not sort its matching rows
on every call: at a million entries that is what made a query slow (issue 12).
PostgreSQL's plans depend on its statistics; benchmarks/b3_queries.py and
docs/decisions.md ("Performance: queries") record them at 1M entries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import Ledger
from ledger.projections.sql import Dialect

PLANS = {
    "activity page": (
        "SELECT * FROM {ledger_activity} WHERE at >= ? AND at < ? AND partner_id = ?"
        " ORDER BY at, position LIMIT ?",
        ("2026-10-01", "2026-12-01", "P1", 100),
        "ledger_activity_by_partner_at",
    ),
    "activity page of a tenant": (
        "SELECT * FROM {ledger_activity} WHERE at >= ? AND at < ? AND partner_id = ?"
        " AND tenant_id = ? ORDER BY at, position LIMIT ?",
        ("2026-10-01", "2026-12-01", "P1", "t", 100),
        "ledger_activity_by_tenant",
    ),
    "monthly credits": (
        "SELECT * FROM {ledger_credits} WHERE partner_id = ? AND month = ?"
        " ORDER BY issued_at, position",
        ("P1", "2026-10"),
        "ledger_credits_by_month_at",
    ),
    "software list": (
        "SELECT * FROM {ledger_software} WHERE tenant_id = ? AND partner_id = ?"
        " ORDER BY purchased_at, position",
        ("t", "P1"),
        "ledger_software_by_tenant",
    ),
}


@pytest.mark.parametrize("query", sorted(PLANS))
def test_a_b3_query_reads_one_index_in_order(tmp_path: Path, query: str) -> None:
    template, params, index = PLANS[query]
    with Ledger.open(f"sqlite:///{tmp_path / 'plans.db'}", secret_key=b"p" * 32) as led:
        sql = Dialect("sqlite").render(template)
        plan = " / ".join(
            str(row["detail"]) for row in led._views.query("EXPLAIN QUERY PLAN " + sql, params)
        )
    assert f"USING INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan
