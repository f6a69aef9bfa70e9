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

from ledger.errors import LedgerError
from ledger.testing.commands import (
    AddCustomer,
    AskCancellationStatus,
    Cancel,
    Command,
    Download,
    Purchase,
    RequestRefund,
    ResolveRefund,
    ViewKey,
    Wait,
)
from ledger.testing.readable import duration, instant, show
from ledger.values import Actor, Cancellation, CancellationStatus, ProductKind, RefundRequest

__all__ = ["Step", "outcome", "tell"]

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
            if isinstance(command, AddCustomer) and command.customer.tenant_id not in self.names:
                tenants += 1
                self._name(command.customer.tenant_id, f"t{tenants}")
            if isinstance(command, Purchase) and step.error is None and step.result is not None:
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


def _describe(command: Command, at: datetime, cast: _Cast) -> str:
    match command:
        case AddCustomer(actor, customer):
            return (
                f"{cast.actor(actor)} adds customer {cast.tenant(customer.tenant_id)}"
                f" {customer.name!r} in {customer.market}"
            )
        case Purchase():
            product = command.product
            what = product.kind.value
            if product.kind is ProductKind.SUBSCRIPTION:
                what += f" with a {product.term_days}-day term"
            extras = ""
            if command.idempotency_key is not None:
                extras += f", idempotency key {command.idempotency_key!r}"
            if command.activation != "MAK":
                extras += f", activation {command.activation}"
            return (
                f"{cast.actor(command.actor)} buys {command.order} for"
                f" {cast.tenant(command.tenant_id)}: {command.quantity} × {what}"
                f" at {command.unit_price}{extras}"
            )
        case Wait(delta):
            return f"the clock moves on by {duration(delta)}, to {instant(at + delta)}"
        case ViewKey(actor, order):
            return f"{cast.actor(actor)} views the key of {order}"
        case Download(actor, order, version, language, bitness, copy):
            verb = "copies the download link of" if copy else "downloads"
            return f"{cast.actor(actor)} {verb} {order} ({version}, {language}, {bitness}-bit)"
        case AskCancellationStatus(actor, order):
            return f"{cast.actor(actor)} asks whether {order} can be cancelled{cast.age(order, at)}"
        case Cancel(actor, order):
            return f"{cast.actor(actor)} cancels {order}{cast.age(order, at)}"
        case RequestRefund():
            return (
                f"{cast.actor(command.actor)} requests refund {command.refund} of"
                f" {command.amount} for {command.order}{cast.age(command.order, at)}"
            )
        case ResolveRefund(actor, refund, approve, amount):
            if not approve:
                return f"{cast.actor(actor)} declines {refund}"
            part = "as requested" if amount is None else f"for {amount}"
            return f"{cast.actor(actor)} approves {refund} {part}"
    return show(command)


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
    if isinstance(command, ViewKey | Download | Wait):
        return "done"
    return "done" if result is None or isinstance(result, UUID) else show(result)


def _line(step: Step, cast: _Cast, *, finished: bool = True) -> str:
    text = f"{step.number:>4}. {_describe(step.command, step.at, cast)}"
    if finished and not isinstance(step.command, Wait):
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
