"""The benchmarks' bulk loader writes what the API writes.

`benchmarks/datasets.bulk_load` calls the domain functions directly; when their
signatures change, the suite must say so here rather than the benchmark run in CI
(issue 25 broke B3, B4 and B6 that way). It also pins that its history is one the
ledger accepts: sealed, rebuildable, and shown by the views.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from ledger import Actor, Ledger, Money, Role

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def datasets():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("datasets")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_bulk_load_writes_a_history_the_ledger_verifies(datasets, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    written = datasets.bulk_load(url, 300)
    assert written >= 300
    with Ledger.open(url, secret_key=datasets.SECRET) as led:
        report = led.audit.verify()
        assert report.ok, report
        assert report.checked == written
        led.rebuild_views()
        # Every 10th order (9, 19, ...) is cancelled, and order n goes to partner n % 10.
        agent = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id=datasets.PARTNERS[9])
        statement = led.monthly_credits(agent, "2026-10")
        assert len(statement.lines) == 2
        assert statement.totals["EUR"] > Money("0.00", "EUR")


def test_a_bulk_store_opens_from_the_command_line_with_the_documented_key(  # type: ignore[no-untyped-def]
    datasets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - the CLI extra, for this test only

    from ledger.cli import app  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    written = datasets.bulk_load(url, 100)
    assert datasets.SECRET_TEXT in (datasets.__doc__ or "")
    monkeypatch.setenv("LEDGER_SECRET_KEY", datasets.SECRET_TEXT)
    result = CliRunner().invoke(app, ["--url", url, "--format", "json", "audit", "verify"])
    assert result.exit_code == 0, result.stderr
    assert '"ok": true' in result.stdout
    assert f'"checked": {written}' in result.stdout
