"""One story per failing test, within a minute: bounded shrinking and ``Machine.TestCase``."""

from __future__ import annotations

import contextlib
import time
import unittest
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from ledger.testing.minimize import minimized
from ledger.testing.mismatch import ModelMismatch

__all__ = ["SHRINK_SECONDS", "shrinking_within", "test_case_for", "told"]

#: How long shrinking may take before the smallest story found so far is told. Hypothesis
#: itself allows five minutes; a person waiting on one failing test wants it within a minute.
SHRINK_SECONDS = 20.0


@contextlib.contextmanager
def shrinking_within(seconds: float) -> Iterator[None]:
    """Bound hypothesis's shrinking to ``seconds`` (its own bound is a module constant)."""
    saved = hypothesis_engine.MAX_SHRINKING_SECONDS
    hypothesis_engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        hypothesis_engine.MAX_SHRINKING_SECONDS = saved


def told(mismatch: ModelMismatch, seconds: float, shrink_seconds: float) -> ModelMismatch:
    """The mismatch again, its story minimized, without hypothesis's frames; saying so if
    shrinking was cut short."""
    story = minimized(mismatch.story)
    text = story.text
    if seconds > shrink_seconds:
        text = (
            f"(shrinking stopped after {shrink_seconds:g} s: the smallest story found by then)\n"
            + text
        )
    clean = ModelMismatch(text)
    clean.report, clean.story = mismatch.report, story
    return clean


def test_case_for(machine: type[RuleBasedStateMachine], shrink_seconds: float) -> Any:
    """A unittest class that runs ``machine`` as hypothesis would, but tells one story.

    Its ``settings`` are the loaded profile's, with ``deadline=None``,
    ``report_multiple_bugs=False`` and no explain phase: a failure is one shrunk story,
    shrunk for at most ``shrink_seconds``, raised without hypothesis's frames.
    """

    class StateMachineTestCase(unittest.TestCase):
        settings = settings(
            deadline=None,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            # Not Phase.explain: it replays the shrunk story many times over to annotate
            # hypothesis's listing, which the story replaces.
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
            # The story says it all; hypothesis's listing would repeat it as rule calls.
            verbosity=Verbosity.quiet,
        )

        def runTest(self) -> None:  # noqa: N802 (unittest's name)
            __tracebackhide__ = True
            started = time.perf_counter()
            with shrinking_within(shrink_seconds):
                try:
                    run_state_machine_as_test(machine, settings=self.settings)
                except ModelMismatch as mismatch:
                    raise told(mismatch, time.perf_counter() - started, shrink_seconds) from None

    test: Any = StateMachineTestCase.runTest
    test.is_hypothesis_test = True
    test._hypothesis_state_machine_class = machine
    StateMachineTestCase.__name__ = f"{machine.__name__}.TestCase"
    StateMachineTestCase.__qualname__ = f"{machine.__qualname__}.TestCase"
    return StateMachineTestCase
