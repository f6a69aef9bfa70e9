"""A failing run told as a Given/When/Then story: what happened, the step that diverged, and how.

Hypothesis prints the rule calls that reproduce a failure; a person wants to
read what the ledger was asked to do. Each command becomes one line with its
actor, its order's alias and, where time matters, how long after the
purchase it ran; ids become the aliases the story introduced (``t1``,
``o3``, ``r5``). Licence keys are never shown (R14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.errors import InvalidInput, LedgerError
from ledger.testing.commands import Command
from ledger.testing.readable import duration, show
from ledger.testing.source import Source
from ledger.values import Actor, Cancellation, CancellationStatus, RefundRequest

__all__ = ["Step", "Story", "outcome", "tell"]

#: Past this many steps the story keeps the start and the end: an unshrunk run is long.
MAX_GIVEN = 60


@dataclass(frozen=True)
class Step:
    """One command as it ran: its number, the clock, and its result or error type."""

    number: int
    at: datetime
    command: Command
    result: Any = None
    error: type[LedgerError] | None = None


class _Cast:
    """Who and what the story names: tenants by first appearance, orders and refunds by alias."""

    def __init__(
        self,
        steps: Sequence[Step],
        order_ids: Mapping[str, UUID],
        refund_ids: Mapping[str, UUID],
    ) -> None:
        self.names: dict[UUID, str] = {}
        self.bought: dict[UUID, datetime] = {}
        tenants = 0
        for step in steps:
            command = step.command
            added = command.tenant_added()
            if added is not None and added not in self.names:
                tenants += 1
                self._name(added, f"t{tenants}")
            if command.BUYS and step.error is None and step.result is not None:
                self.bought.setdefault(step.result, step.at)
        for alias, order_id in order_ids.items():
            self._name(order_id, alias)
        for alias, refund_id in refund_ids.items():
            self._name(refund_id, alias)
        self.order_ids = order_ids

    def _name(self, uuid: UUID, name: str) -> None:
        self.names.setdefault(uuid, name)

    def tenant(self, tenant_id: UUID | None) -> str:
        if tenant_id is None:
            return "no tenant"
        return self.names.get(tenant_id, "a tenant the story never added")

    def actor(self, actor: Actor) -> str:
        roles = "/".join(sorted(role.value for role in actor.roles))
        if actor.partner_id is not None:
            return f"{actor.user} ({roles} at {actor.partner_id})"
        if actor.tenant_id is not None:
            return f"{actor.user} ({roles} of {self.tenant(actor.tenant_id)})"
        return f"{actor.user} ({roles})"

    def age(self, alias: str, now: datetime) -> str:
        """``, 8 days − 1 µs after its purchase`` when the order was bought, else nothing."""
        bought = self.bought.get(self.order_ids.get(alias, UUID(int=0)))
        if bought is None:
            return ""
        if bought == now:
            return ", the moment it was bought"
        return f", {duration(now - bought)} after its purchase"

    def rename(self, text: str) -> str:
        """Ids in a message become the story's aliases."""
        for uuid, name in self.names.items():
            text = text.replace(f"UUID('{uuid}')", name).replace(str(uuid), name)
        return text


def outcome(command: Command, result: Any, error: type[LedgerError] | None = None) -> str:
    """What a command did, in a few words; never a licence key."""
    if error is not None:
        return f"refused: {error.__name__}"
    if isinstance(result, Cancellation):
        return f"credit {result.credit}"
    if isinstance(result, CancellationStatus):
        if result.cancellable:
            return f"cancellable, {result.days_left} day(s) left"
        return f"not cancellable: {result.reason}"
    if isinstance(result, RefundRequest):
        return result.status
    if not command.SHOWS_RESULT:
        return "done"
    return "done" if result is None or isinstance(result, UUID) else show(result)


def _line(step: Step, cast: _Cast, *, finished: bool = True) -> str:
    text = f"{step.number:>4}. {step.command.describe(step.at, cast)}"
    if finished and not step.command.RECORDS_NOTHING:
        text += f" → {outcome(step.command, step.result, step.error)}"
    return text


def tell(
    steps: Sequence[Step],
    failing: Step | None,
    detail: str,
    *,
    order_ids: Mapping[str, UUID],
    refund_ids: Mapping[str, UUID],
) -> str:
    """The story of ``steps``; ``failing`` is the command that diverged (None: the views did).

    ``detail`` says what was expected and what the ledger did instead.
    """
    everything = [*steps, failing] if failing is not None else list(steps)
    cast = _Cast(everything, order_ids, refund_ids)
    given, when = (list(steps), failing) if failing is not None else (list(steps[:-1]), None)
    lines = ["Given"]
    if len(given) > MAX_GIVEN:
        head, tail = given[: MAX_GIVEN // 2], given[-MAX_GIVEN // 2 :]
        skipped = len(given) - len(head) - len(tail)
        lines += [_line(step, cast) for step in head]
        lines.append(f"      ... {skipped} more steps ...")
        lines += [_line(step, cast) for step in tail]
    else:
        lines += [_line(step, cast) for step in given] or ["      nothing"]
    lines.append("When")
    if when is not None:
        lines.append(_line(when, cast, finished=False))
    elif steps:
        lines.append(_line(steps[-1], cast))
    lines.append("Then the ledger and the model disagree:" if when else "Then the views disagree:")
    lines += [f"      {line}" for line in cast.rename(detail).splitlines()]
    return "\n".join(lines)


@dataclass(frozen=True)
class Story:
    """A failing example: the commands it ran from its start, told (``str``) or pinned
    (`as_pytest`). Kept as ``ModelMismatch.story``."""

    text: str
    start: datetime
    commands: tuple[Command, ...]
    machine: type | None = None

    def __str__(self) -> str:
        return self.text

    def as_pytest(self, name: str | None = None, *, machine: str | None = None) -> str:
        """A pytest module that replays this story and fails as it did, until the rule is fixed.

        ``machine`` is where the test imports the machine from (``"package.module:Class"``);
        by default the module and name of the machine that told the story, which must
        then be importable (not defined in ``__main__`` or inside a function).
        """
        cls = self.machine
        where = machine or (f"{cls.__module__}:{cls.__qualname__}" if cls is not None else "")
        module, _, attribute = where.partition(":")
        if not module or not attribute.isidentifier() or module == "__main__":
            raise InvalidInput(
                "machine",
                f"{where or 'no machine'!r}: say where the test imports the machine from,"
                " e.g. as_pytest(machine='tests.test_my_policy:MyProgramme')",
            )
        source = Source()
        commands = [f"    {source.of(command)}," for command in self.commands]
        start = source.of(self.start)
        source.need("ledger.testing", "replay")
        test = name or f"test_{attribute.lower()}_story"
        told = [f"    {line}".rstrip() for line in self.text.replace('"""', "'''").splitlines()]
        lines = [
            f'"""Pinned by ledger.testing: a story {attribute} told, replayed as it ran.',
            "",
            "It fails, with the same story, while the rule is still broken.",
            "",
            *told,
            '"""',
            "",
            *source.import_lines(),
            f"from {module} import {attribute}",
            "",
            "STORY = (",
            *commands,
            ")",
            "",
            "",
            f"def {test}() -> None:",
            f"    replay({attribute}, STORY, start={start})",
            "",
        ]
        return "\n".join(lines)
