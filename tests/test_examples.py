"""End to end: the examples run as a user would run them (the demo: tests/test_cli*.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
