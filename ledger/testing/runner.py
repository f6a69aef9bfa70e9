"""Run a state machine for a number of steps with a fixed seed, outside or inside pytest."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.clock import ManualClock
from ledger.testing.commands import Command
from ledger.testing.harness import Harness, Outcome
from ledger.testing.machine import LedgerStateMachine
from ledger.testing.model import ReferenceModel, ReferenceRules
from ledger.testing.stores import open_test_ledger, scratch_store

__all__ = ["DEFAULT_SEED", "RunReport", "run", "run_commands"]

DEFAULT_SEED = 20261125


@dataclass(frozen=True)
class RunReport:
    machine: str
    store: str
    seed: int
    examples: int
    steps: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.machine} on {self.store}: {self.steps} steps in {self.examples} examples,"
            f" {self.seconds:.1f} s, seed {self.seed}: the ledger agreed with the model"
        )


def run(
    machine: type[LedgerStateMachine],
    *,
    steps: int = 1_000,
    steps_per_example: int = 50,
    seed_value: int = DEFAULT_SEED,
    shrink: bool = True,
    verbosity: Verbosity = Verbosity.normal,
) -> RunReport:
    """Run at least ``steps`` commands through ``machine``; raise on the first disagreement.

    Deterministic: the same seed gives the same sequences. On failure the
    seed is printed to stderr next to hypothesis's minimal failing sequence.
    """
    examples = 0
    executed = 0
    started = time.perf_counter()
    round_seed = seed_value
    machines: list[LedgerStateMachine] = []

    def factory() -> LedgerStateMachine:
        instance = machine()
        machines.append(instance)
        return instance

    while executed < steps:
        wanted = math.ceil((steps - executed) / steps_per_example)
        config = settings(
            max_examples=wanted,
            stateful_step_count=steps_per_example,
            deadline=None,
            database=None,
            derandomize=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.generate, Phase.shrink) if shrink else (Phase.generate,),
            verbosity=verbosity,
        )
        seeded: Any = seed(round_seed)(factory)
        try:
            run_state_machine_as_test(seeded, settings=config)
        except BaseException:
            print(
                f"ledger.testing: {machine.__name__} failed on {machine.store} with seed"
                f" {round_seed}; run(..., seed_value={round_seed}) reproduces it",
                file=sys.stderr,
            )
            raise
        examples += len(machines)
        executed += sum(m.steps for m in machines)
        machines.clear()
        round_seed += 1
    return RunReport(
        machine.__name__,
        machine.store,
        seed_value,
        examples,
        executed,
        time.perf_counter() - started,
    )


def run_commands(
    commands: Sequence[Command],
    *,
    store: str = "memory",
    policy: CancellationPolicy | None = None,
    model: ReferenceModel | None = None,
) -> list[Outcome]:
    """Replay a command sequence (e.g. from `strategies.command_sequences`) on a fresh store.

    Each command is checked against the model as it runs and every view at
    the end; the outcomes let two stores be compared with each other.
    """
    clock = ManualClock()
    with (
        scratch_store(store) as url,
        open_test_ledger(url, clock, policy) as led,
    ):
        rules = ReferenceRules.windows_of(policy or CancellationPolicy.default())
        harness = Harness(led, clock, model or ReferenceModel(rules))
        outcomes = [harness.step(command) for command in commands]
        harness.check()
        return outcomes
