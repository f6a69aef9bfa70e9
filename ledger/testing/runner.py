"""Run a state machine for a number of steps with a fixed seed, outside or inside pytest."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.clock import ManualClock
from ledger.testing.commands import Command
from ledger.testing.harness import Harness, Outcome
from ledger.testing.machine import LedgerStateMachine
from ledger.testing.minimize import minimized, replayed
from ledger.testing.mismatch import ModelMismatch, RunReport
from ledger.testing.model import ReferenceModel, ReferenceRules
from ledger.testing.shrinking import SHRINK_SECONDS, shrinking_within
from ledger.testing.stores import open_test_ledger, scratch_store

__all__ = ["DEFAULT_SEED", "SHRINK_SECONDS", "RunReport", "replay", "run", "run_commands"]

DEFAULT_SEED = 20261125
#: Most examples in one round (one seed). Examples run more commands than they
#: have rule steps, so a round sized from ``steps_per_example`` alone overshot
#: a 10,000-step run by a third; rounds are sized from what they ran so far.
MAX_ROUND = 25


def run(
    machine: type[LedgerStateMachine],
    *,
    steps: int = 1_000,
    steps_per_example: int = 50,
    seed_value: int = DEFAULT_SEED,
    shrink: bool = True,
    shrink_seconds: float = SHRINK_SECONDS,
    start: datetime | None = None,
    verbosity: Verbosity = Verbosity.quiet,
) -> RunReport:
    """Run at least ``steps`` commands through ``machine``; raise on the first disagreement.

    Deterministic: the same seed gives the same sequences. A disagreement is
    raised as a `ModelMismatch` whose message is the (shrunk, unless
    ``shrink=False``) example told as a Given/When/Then story, headed by the
    figures to catch it and the seed that reproduces it; its ``report`` holds
    those figures and its ``story`` the example (``story.as_pytest()`` pins it).
    Shrinking stops after ``shrink_seconds`` with the smallest story found by then;
    the story is then replayed without each step it does not need (`minimize`).
    ``start`` fixes where every example's clock starts (default: the machine's
    ``start``, else drawn from the calendar, `LedgerStateMachine.starts`).
    Any other error is raised as it is, with the seed printed to stderr.
    """
    __tracebackhide__ = True  # pytest: show the caller's line and the story, not hypothesis
    if start is not None:
        machine = type(
            machine.__name__,
            (machine,),
            {
                "start": start,
                "__module__": machine.__module__,
                "__qualname__": machine.__qualname__,
            },
        )
    done = _Progress(machine, seed_value)
    round_seed = seed_value

    def factory() -> LedgerStateMachine:
        return done.new_machine()

    while done.steps < steps:
        config = settings(
            max_examples=done.examples_for(steps, steps_per_example),
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
            with shrinking_within(shrink_seconds):
                run_state_machine_as_test(seeded, settings=config)
        except ModelMismatch as mismatch:
            report = done.caught()
            rerun = f"run({machine.__name__}, seed_value={round_seed}) reproduces it"
            story = minimized(mismatch.story) if shrink else mismatch.story
            clean = ModelMismatch(f"{report}; {rerun}\n{story.text}")
            clean.report, clean.story = report, story
            raise clean from None
        except BaseException:
            print(
                f"ledger.testing: {machine.__name__} failed on {machine.store} with seed"
                f" {round_seed}; run(..., seed_value={round_seed}) reproduces it",
                file=sys.stderr,
            )
            raise
        done.next_round()
        round_seed += 1
    return done.passed()


class _Progress:
    """The machines a run has made, so far: steps and examples, and when one first failed."""

    def __init__(self, machine: type[LedgerStateMachine], seed_value: int) -> None:
        self.machine = machine
        self.seed = seed_value
        self.started = time.perf_counter()
        self.steps = 0
        self.examples = 0
        self.round: list[LedgerStateMachine] = []

    def new_machine(self) -> LedgerStateMachine:
        instance = self.machine()
        self.round.append(instance)
        return instance

    def examples_for(self, steps: int, steps_per_example: int) -> int:
        """Examples for the next round: enough for the steps left, at the commands per
        example seen so far, and at most `MAX_ROUND` so that a run overshoots ``steps``
        by a round's error at most (a rule may run several commands)."""
        per_example = self.steps / self.examples if self.steps else steps_per_example
        return min(MAX_ROUND, math.ceil((steps - self.steps) / max(per_example, 1)))

    def next_round(self) -> None:
        self.examples += len(self.round)
        self.steps += sum(m.steps for m in self.round)
        self.round.clear()

    def _report(self, examples: int, steps: int, seconds: float, caught: bool) -> RunReport:
        name, store = self.machine.__name__, self.machine.store
        return RunReport(name, store, self.seed, examples, steps, seconds, caught)

    def passed(self) -> RunReport:
        return self._report(self.examples, self.steps, self._since(time.perf_counter()), False)

    def caught(self) -> RunReport:
        """Figures up to the first example that failed: hypothesis replays and shrinks after."""
        first = next(
            (i for i, m in enumerate(self.round) if m.harness.failed_at is not None),
            len(self.round) - 1,
        )
        failed_at = self.round[first].harness.failed_at or time.perf_counter()
        steps = self.steps + sum(m.steps for m in self.round[: first + 1])
        return self._report(self.examples + first + 1, steps, self._since(failed_at), True)

    def _since(self, moment: float) -> float:
        return moment - self.started


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


def replay(
    machine: type[LedgerStateMachine], commands: Sequence[Command], *, start: datetime
) -> None:
    """Run ``commands`` from ``start`` on a fresh ``machine``, checked as the machine checks
    them (the views after every command): a story pinned as a test (`Story.as_pytest`).

    Raises the `ModelMismatch` the story told while the rule is broken; returns once
    the ledger and the model agree on every step.
    """
    __tracebackhide__ = True
    mismatch = replayed(machine, commands, start)
    if mismatch is not None:
        raise mismatch
