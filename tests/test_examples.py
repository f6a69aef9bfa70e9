"""End to end: the demo runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_shows_the_three_views(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = result.stdout
    assert "Contoso's software list" in out
    assert "Activity log, November 2026" in out
    assert "Credits 2026-11" in out
    assert "581.92 EUR" in out
    assert "KmsNotAllowed" in out
    assert "MarketUnavailable" in out
    assert (tmp_path / "build" / "demo" / "ledger.db").exists()
    key_line = next(line for line in out.splitlines() if "views the Office key" in line)
    assert "*****-*****-*****-*****" in key_line


def test_property_testing_example_runs_the_seven_day_machine(tmp_path: Path) -> None:
    script = ROOT / "examples" / "property_testing.py"
    assert len(script.read_text().splitlines()) < 20
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert "SevenDaySubscriptions on memory:" in result.stdout
    assert "the ledger agreed with the model" in result.stdout
    steps = int(result.stdout.split(": ", 1)[1].split(" steps")[0])
    assert steps >= 1_000
