"""`Command`: one thing the testing tools ask a ledger, with every step it takes there.

A command is a frozen value that knows how to

* `run` itself against a real `Ledger` (through the `Context`, which resolves
  aliases to ids),
* `expect` what the `ReferenceModel` says it should do (an error type, or None),
* `record` a success into the model, checking the result on the way,
* `describe` itself as one line of a Given/When/Then story.

So a new command is one class. Orders and refund requests are named by an
alias (``"o1"``) because their ids are only known once the ledger made them;
an alias that never resolved (its purchase failed) stands for an id the ledger
never issued, so the command meets ``OrderNotFound`` like any unknown id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.testing.clock import ManualClock
from ledger.testing.model import ReferenceModel
from ledger.values import Actor

__all__ = ["Command", "Context", "Expected", "Names"]

Expected = type[LedgerError] | None


class Context(Protocol):
    """Where a command runs: the ledger, its clock, and the ids its aliases stand for."""

    ledger: Ledger
    clock: ManualClock
    order_ids: dict[str, UUID]
    refund_ids: dict[str, UUID]
    switch: Callable[[], None] | None

    def order_id(self, alias: str) -> UUID: ...

    def refund_id(self, alias: str) -> UUID: ...


class Names(Protocol):
    """How a story names actors, tenants and an order's age (`ledger.testing.story`)."""

    def actor(self, actor: Actor) -> str: ...

    def tenant(self, tenant_id: UUID | None) -> str: ...

    def age(self, alias: str, now: datetime) -> str: ...


class Command:
    """Base of every command; subclasses are frozen dataclasses."""

    #: False where the result must not be shown (a licence key) or says nothing.
    SHOWS_RESULT: ClassVar[bool] = True
    #: True for a command that records nothing (moving the clock).
    RECORDS_NOTHING: ClassVar[bool] = False
    #: True for a command whose result is the id of an order it bought.
    BUYS: ClassVar[bool] = False

    def run(self, context: Context) -> Any:
        """Call the public API; ``LedgerError``s propagate to the caller."""
        raise NotImplementedError

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        """What the model says the ledger does: an error type, or None for success."""
        raise NotImplementedError

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        """A success: check ``result`` against the model and update the model."""

    def describe(self, at: datetime, names: Names) -> str:
        """One line of a story: who did what, in the story's names."""
        raise NotImplementedError

    def tenant_added(self) -> UUID | None:
        """The tenant this command introduces to a story, if it adds one."""
        return None

    def orders_named(self, model: ReferenceModel, context: Context) -> set[UUID]:
        """The orders this command acted on (their views are checked next)."""
        alias = getattr(self, "order", None)
        return {context.order_id(alias)} if isinstance(alias, str) else set()
