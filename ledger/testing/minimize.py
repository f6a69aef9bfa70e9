"""A shrunk story made shorter still: merge clock moves, drop steps the failure does not need.

Hypothesis shrinks the draws behind a state machine's steps, and some steps
it cannot delete that way: a row of 1 µs clock moves, a question asked five
times. Once a story is found its commands are concrete, so they can be
replayed as they are: consecutive clock moves are merged (the same instants),
then each step is dropped if the story still ends in the same disagreement
without it. Bounded in time, like hypothesis's own shrinking.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ledger.testing.commands import Command, Wait
from ledger.testing.mismatch import ModelMismatch
from ledger.testing.story import Story

__all__ = ["MINIMIZE_SECONDS", "minimized", "replayed"]

#: How long the replays may take, on top of hypothesis's shrinking.
MINIMIZE_SECONDS = 10.0


def _merged_waits(commands: Sequence[Command]) -> list[Command]:
    merged: list[Command] = []
    for command in commands:
        if isinstance(command, Wait) and merged and isinstance(merged[-1], Wait):
            merged[-1] = Wait(merged[-1].delta + command.delta)
        else:
            merged.append(command)
    return merged


def _verdict(text: str) -> str:
    """What a story says went wrong: its Then part (the same ids keep the same aliases)."""
    return text.rsplit("\nThen ", 1)[-1]


def minimized(story: Story, seconds: float = MINIMIZE_SECONDS) -> Story:
    """The shortest replay of ``story`` found within ``seconds`` that ends the same way."""
    machine = story.machine
    if machine is None:
        return story
    deadline = time.perf_counter() + seconds
    wanted = _verdict(story.text)

    def failing(commands: Sequence[Command]) -> Story | None:
        found = _replayed(machine, commands, story)
        return found if found is not None and _verdict(found.text) == wanted else None

    best = story
    merged = _merged_waits(story.commands)
    if len(merged) < len(story.commands):
        best = failing(merged) or best
    index = len(best.commands) - 2  # the last step is the one that diverged: keep it
    while index >= 0 and time.perf_counter() < deadline:
        shorter = _merged_waits([*best.commands[:index], *best.commands[index + 1 :]])
        best = failing(shorter) or best
        index = min(index - 1, len(best.commands) - 2)
    return best


def replayed(machine: type, commands: Sequence[Command], start: datetime) -> ModelMismatch | None:
    """Run ``commands`` from ``start`` on a fresh ``machine``, checking the views after each as
    the machine does; the disagreement they end in, if any."""
    instance = machine()
    try:
        instance.clock.set(start)
        for command in commands:
            instance.run(command)
            instance.harness.check()
    except ModelMismatch as mismatch:
        return mismatch
    finally:
        instance.teardown()
    return None


def _replayed(machine: type, commands: Sequence[Command], story: Story) -> Story | None:
    mismatch = replayed(machine, commands, story.start)
    if mismatch is None:
        return None
    told: Story = mismatch.story
    return replace(told, machine=story.machine)
