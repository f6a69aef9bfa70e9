"""Where `Command` values run against a real `Ledger`: the ledger, its clock, the aliases' ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.application import Ledger
from ledger.testing.clock import ManualClock
from ledger.testing.commands import Command

__all__ = ["Driver", "unissued_id"]


def unissued_id(alias: str) -> UUID:
    """A stable id for an alias the ledger never issued (its purchase or request failed)."""
    return uuid5(NAMESPACE_URL, f"ledger.testing:unissued:{alias}")


class Driver:
    """Calls the public API for each command; ``LedgerError``s propagate to the caller."""

    def __init__(self, ledger: Ledger, clock: ManualClock) -> None:
        self.ledger = ledger
        self.clock = clock
        self.order_ids: dict[str, UUID] = {}
        self.refund_ids: dict[str, UUID] = {}
        #: How a `SwitchPolicy` command deploys the next policy (the state machine's own).
        self.switch: Callable[[], None] | None = None

    def order_id(self, alias: str) -> UUID:
        return self.order_ids.get(alias) or unissued_id(alias)

    def refund_id(self, alias: str) -> UUID:
        return self.refund_ids.get(alias) or unissued_id(alias)

    def run(self, command: Command) -> Any:
        return command.run(self)
