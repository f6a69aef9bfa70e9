"""How fast `ledger.testing` catches and explains the policy mutants of docs/testing.md.

For each mutant in ``tests/test_policy_mutants.py`` (the docs' table, and the
calendar mutants), `ledger.testing.run` runs it on memory from the fixed seed
for at most 2,000 steps *with* shrinking, as a user's failing run would:
steps and seconds to catch, seconds to shrink (the rest of the call) and the
length of the story it told. The baseline is the unmutated programme run for
the same 2,000 steps, so the catch time reads against the time to pass.

Run: ``.venv/bin/python benchmarks/mutant_catch.py [--only NAME ...] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unittest
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hypothesis import settings  # noqa: E402

from ledger.testing import ModelMismatch, run  # noqa: E402
from tests.test_policy_mutants import BUDGET, MUTANTS, TwoWeekProgramme  # noqa: E402


def test_case_seconds(mutant: Any) -> tuple[float, str]:
    """Seconds for ``Machine.TestCase`` to end (its seed is hypothesis's own, so this
    varies), and how: ``"one story"``, ``"passed"`` (not caught in its examples) or else."""
    result = unittest.TestResult()
    test_case = mutant.machine().TestCase
    # No example database: a failure saved by an earlier run would be replayed at once.
    test_case.settings = settings(test_case.settings, database=None)
    started = time.perf_counter()
    test_case().run(result)
    seconds = time.perf_counter() - started
    if not result.failures and not result.errors:
        return round(seconds, 1), "passed"
    told = [text.count("Given\n") for _, text in result.failures]
    return round(seconds, 1), "one story" if told == [
        1
    ] else f"failures {told}, errors {len(result.errors)}"


def measure(mutant: Any) -> dict[str, Any]:
    test_case_s, outcome = test_case_seconds(mutant)
    started = time.perf_counter()
    try:
        report = run(mutant.machine(), steps=BUDGET)
    except ModelMismatch as caught:
        total = time.perf_counter() - started
        found = caught.report
        assert found is not None
        story = str(caught)
        return {
            "mutant": mutant.name,
            "caught": True,
            "steps": found.steps,
            "examples": found.examples,
            "catch_s": round(found.seconds, 2),
            "shrink_s": round(total - found.seconds, 2),
            "story_steps": _steps(story),
            "test_case_s": test_case_s,
            "test_case_outcome": outcome,
            "story": story,
        }
    return {
        "mutant": mutant.name,
        "caught": False,
        "steps": report.steps,
        "examples": report.examples,
        "catch_s": round(report.seconds, 2),
        "shrink_s": 0.0,
        "story_steps": 0,
        "test_case_s": test_case_s,
        "test_case_outcome": outcome,
        "story": "",
    }


def _steps(story: str) -> int:
    """The numbered steps of a story (``   4. agent ...``)."""
    return sum(1 for line in story.splitlines() if line[:5].strip().rstrip(".").isdigit())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--json", default=str(HERE / "results" / "mutant_catch.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    baseline = run(TwoWeekProgramme, steps=BUDGET)
    rows = [measure(m) for m in MUTANTS if args.only is None or m.name in args.only]
    print(f"baseline: {baseline}")
    print(
        f"{'mutant':<26} {'caught':>6} {'steps':>6} {'catch s':>8} {'shrink s':>9}"
        f" {'story':>6} {'TestCase s':>11}  TestCase"
    )
    for row in rows:
        print(
            f"{row['mutant']:<26} {'yes' if row['caught'] else 'NO':>6} {row['steps']:>6}"
            f" {row['catch_s']:>8.1f} {row['shrink_s']:>9.1f} {row['story_steps']:>6}"
            f" {row['test_case_s']:>9.1f}  {row['test_case_outcome']}"
        )
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "budget_steps": BUDGET,
        "baseline": {"steps": baseline.steps, "seconds": round(baseline.seconds, 2)},
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
