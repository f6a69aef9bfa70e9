"""A disagreement between the ledger and the model, and how a run went."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from ledger.testing.readable import show

__all__ = ["MAX_SHOWN_DIFFERENCES", "ModelMismatch", "RunReport", "require_equal"]


@dataclass(frozen=True)
class RunReport:
    """How a run went: ``steps`` commands in ``examples`` examples and ``seconds``.

    For a run that found a disagreement (``caught``, kept as
    ``ModelMismatch.report``) the figures are those up to the first failing
    example: the steps and seconds it took to catch, not to shrink.
    """

    machine: str
    store: str
    seed: int
    examples: int
    steps: int
    seconds: float
    caught: bool = False

    def __str__(self) -> str:
        head = f"{self.machine} on {self.store}"
        if self.caught:
            return (
                f"{head}: caught a disagreement after {self.steps} steps in {self.examples}"
                f" examples, {self.seconds:.1f} s, seed {self.seed}"
            )
        return (
            f"{head}: {self.steps} steps in {self.examples} examples,"
            f" {self.seconds:.1f} s, seed {self.seed}: the ledger agreed with the model"
        )


class ModelMismatch(AssertionError):
    """The ledger and the reference model disagree: a test failure, not a `LedgerError`.

    Raised by `ledger.testing.run`, ``report`` holds the figures it took to
    catch (steps, examples, seconds, seed); otherwise it is None. ``story`` is
    the failing example (a `ledger.testing.story.Story`): ``story.as_pytest()``
    writes it out as a pinned test.
    """

    report: RunReport | None = None
    story: Any = None


def require_equal(
    actual: object, expected: object, what: str, *, because: Callable[[], str] | None = None
) -> None:
    """Raise `ModelMismatch` naming each differing field unless both sides are equal;
    ``because`` says how the model worked out what it expected (e.g. a credit's arithmetic)."""
    if actual != expected:
        differences = _differences(actual, expected, "")[:MAX_SHOWN_DIFFERENCES]
        why = [] if because is None else [f"the model: {because()}"]
        raise ModelMismatch(f"{what}:\n  " + "\n  ".join([*differences, *why]))


MAX_SHOWN_DIFFERENCES = 10


def _differences(actual: object, expected: object, path: str) -> list[str]:
    """Field by field, so a 14-field row that differs in one field shows that field."""
    if is_dataclass(actual) and type(actual) is type(expected):
        return [
            line
            for f in fields(actual)
            for line in _differences(
                getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}"
            )
        ]
    sequences = (list, tuple)
    if isinstance(actual, sequences) and isinstance(expected, sequences):
        if len(actual) != len(expected):
            return [
                f"{path or 'items'}: expected {len(expected)}, the ledger has {len(actual)}:"
                f"\n    expected: {show(expected)}\n    ledger:   {show(actual)}"
            ]
        return [
            line
            for index, (a, e) in enumerate(zip(actual, expected, strict=True))
            for line in _differences(a, e, f"{path}[{index}]")
        ]
    if actual == expected:
        return []
    return [f"{path or 'value'}: expected {show(expected)}, the ledger gave {show(actual)}"]
