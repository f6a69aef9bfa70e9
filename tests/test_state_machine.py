"""The suite's own property run: `LedgerStateMachine` against the reference model, per store.

Under ``CI=true`` this is the CI profile: at least 10,000 steps on memory and
on SQLite and 2,000 on PostgreSQL, from a fixed seed (printed on failure).
Locally the same runs are shorter. The figures end up in the test summary.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.testing import DEFAULT_SEED, LedgerStateMachine, RunReport, run
from tests.conftest import IN_CI, require_postgres

STEPS = (
    {"memory": 10_000, "sqlite": 10_000, "postgres": 2_000}
    if IN_CI
    else {"memory": 1_500, "sqlite": 1_000, "postgres": 200}
)
STEPS_PER_EXAMPLE = 50


def _run_on(kind: str, store: str, record_property: Callable[[str, object], None]) -> RunReport:
    machine = type(f"LedgerStateMachineOn{kind.title()}", (LedgerStateMachine,), {"store": store})
    report = run(machine, steps=STEPS[kind], steps_per_example=STEPS_PER_EXAMPLE)
    record_property("state_machine", str(report))
    assert report.seed == DEFAULT_SEED
    assert report.steps >= STEPS[kind]
    # Many examples, not a few long ones. An example has at most STEPS_PER_EXAMPLE rule
    # steps, but a rule may run several commands (a probe up to nine): about 60 commands
    # an example on average.
    assert report.examples >= STEPS[kind] // (2 * STEPS_PER_EXAMPLE)
    return report


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_ledger_agrees_with_the_reference_model(
    kind: str, record_property: Callable[[str, object], None]
) -> None:
    _run_on(kind, kind, record_property)


@pytest.mark.postgres
def test_ledger_agrees_with_the_reference_model_on_postgres(
    record_property: Callable[[str, object], None],
) -> None:
    _run_on("postgres", require_postgres(), record_property)
