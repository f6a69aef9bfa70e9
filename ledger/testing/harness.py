"""Drive a ledger and a reference model side by side, and compare them."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from ledger.application import Ledger
from ledger.errors import KeyRevoked, LedgerError
from ledger.testing.clock import ManualClock
from ledger.testing.commands import Command
from ledger.testing.driver import Driver
from ledger.testing.mismatch import ModelMismatch, require_equal
from ledger.testing.model import ReferenceModel
from ledger.testing.story import Step, Story, outcome, tell
from ledger.values import Actor, Role

__all__ = ["Harness", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """What one command did: its result, or the type of error it raised."""

    command: Command
    result: Any = None
    error: type[LedgerError] | None = None


def _name(error: type[LedgerError] | None) -> str:
    return "success" if error is None else error.__name__


class Harness:
    """Runs each command on the ledger and the model; `check` compares every view.

    Every command is kept as a `Step`, so that a disagreement is raised as a
    `ModelMismatch` telling the whole example as a Given/When/Then story.
    """

    def __init__(
        self, ledger: Ledger, clock: ManualClock, model: ReferenceModel, *, rebuild: bool = True
    ) -> None:
        self.driver = Driver(ledger, clock)
        self.ledger = ledger
        self.clock = clock
        self.model = model
        self.rebuild = rebuild
        self.steps = 0
        self.history: list[Step] = []
        #: When (``time.perf_counter()``) this harness first saw a disagreement, if ever.
        self.failed_at: float | None = None
        self._checked = False
        # Cancelled orders whose key was found revoked, and orders named since the last check.
        self._revoked: set[UUID] = set()
        self._named: set[UUID] = set()
        #: The state machine class driving this harness, if any: a `Story` replays on it.
        self.machine: type | None = None

    def reopened(self, ledger: Ledger) -> None:
        """The same store, opened again (a policy switch): commands and checks go on there."""
        self.ledger = self.driver.ledger = ledger

    def step(self, command: Command) -> Outcome:
        """Run one command; raise `ModelMismatch` unless the ledger did what the model says."""
        __tracebackhide__ = True  # pytest: the story says it all, the frames here add nothing
        self.steps += 1
        # Moving the clock records nothing, so the last check still stands.
        self._checked = self._checked and command.RECORDS_NOTHING
        now = self.clock()
        try:
            outcome = self._run(command, now)
        except ModelMismatch as mismatch:
            raise self._story(Step(self.steps, now, command), str(mismatch)) from None
        # After the run: a purchase's alias names an order only once it was bought (or a
        # repeated idempotency key returned an earlier one).
        self._named |= command.orders_named(self.model, self.driver)
        self.history.append(Step(self.steps, now, command, outcome.result, outcome.error))
        return outcome

    def _run(self, command: Command, now: datetime) -> Outcome:
        expected = command.expect(self.model, now, self.driver)
        try:
            result = self.driver.run(command)
        except LedgerError as error:
            if type(error) is not expected:
                raise ModelMismatch(
                    f"expected {_name(expected)}, the ledger raised {type(error).__name__}: {error}"
                ) from error
            return Outcome(command, error=type(error))
        if expected is not None:
            raise ModelMismatch(
                f"expected {expected.__name__}, the ledger succeeded ({outcome(command, result)})"
            )
        command.record(self.model, result, now, self.driver)
        return Outcome(command, result=result)

    def _story(self, failing: Step | None, detail: str) -> ModelMismatch:
        if self.failed_at is None:
            self.failed_at = time.perf_counter()
        text = tell(
            self.history,
            failing,
            detail,
            order_ids=self.driver.order_ids,
            refund_ids=self.driver.refund_ids,
        )
        steps = [*self.history, failing] if failing is not None else self.history
        start = steps[0].at if steps else self.clock()
        story = Story(text, start, tuple(step.command for step in steps), self.machine)
        mismatch = ModelMismatch(text)
        mismatch.story = story
        return mismatch

    # -- invariants ----------------------------------------------------------------------

    def check(self) -> None:
        """Every view equals the model, the safety rules hold, and views equal a rebuild."""
        __tracebackhide__ = True
        if self._checked:
            return
        try:
            self.check_software_lists()
            self.check_partner_views()
            if self.rebuild:
                report = self.ledger.audit.rebuild()
                if not report.matches:
                    differences = "; ".join(report.differences)
                    raise ModelMismatch(f"live views differ from a rebuild: {differences}")
        except ModelMismatch as mismatch:
            raise self._story(None, str(mismatch)) from None
        self._checked = True
        self._named.clear()

    def check_software_lists(self) -> None:
        """Each tenant's list equals the model; no credit above a total; no key once cancelled."""
        led, model = self.ledger, self.model
        for partner_id, tenant_id in model.registrations:
            agent = _partner_user(partner_id, Role.ADMIN_AGENT)
            items = led.software(agent, tenant_id)
            for item in items:
                if not item.credited <= item.total:
                    raise ModelMismatch(
                        f"order {item.order_id} credited {item.credited} of {item.total}"
                    )
                # Only a command on the order could give its key back: each cancelled
                # order's key is tried once, and again after any command that names it.
                # (key_available is compared for every order on every check.)
                fresh = item.order_id not in self._revoked or item.order_id in self._named
                if item.status == "cancelled" and fresh:
                    _assert_key_revoked(led, agent, item.order_id)
                    self._revoked.add(item.order_id)
            require_equal(
                items,
                model.software(tenant_id, partner_id),
                f"{partner_id}'s software list of {tenant_id}",
            )

    def check_partner_views(self) -> None:
        """Activity log, monthly credits (one cancellation credit per order) and refunds."""
        led, model = self.ledger, self.model
        today = self.clock().date()
        first = min((a.entry.at.date() for a in model.activity), default=today)
        for partner_id in sorted({partner for partner, _ in model.registrations}):
            require_equal(
                led.activity_log(_partner_user(partner_id, Role.GLOBAL_ADMIN), first, today),
                model.activity_log(partner_id, first, today),
                f"activity log of {partner_id}",
            )
            accounts = _partner_user(partner_id, Role.ACCOUNT_ADMIN)
            for month in sorted(model.credit_months(partner_id) | {today.strftime("%Y-%m")}):
                statement = led.monthly_credits(accounts, month)
                cancellations = Counter(
                    line.order_id for line in statement.lines if line.reason == "cancellation"
                )
                for order_id, count in cancellations.items():
                    if count > 1:
                        raise ModelMismatch(f"order {order_id} has {count} cancellation credits")
                require_equal(
                    statement,
                    model.monthly_credits(partner_id, month),
                    f"monthly credits of {partner_id} for {month}",
                )
            require_equal(
                led.refunds(_partner_user(partner_id, Role.ADMIN_AGENT)),
                model.refund_requests(partner_id),
                f"refund requests of {partner_id}",
            )
        require_equal(led.refunds(SUPPORT), model.refund_requests(None), "refunds for support")


def _assert_key_revoked(led: Ledger, agent: Actor, order_id: UUID) -> None:
    try:
        led.view_key(agent, order_id)
    except KeyRevoked:
        return
    raise ModelMismatch(f"cancelled order {order_id} still yields its key")


SUPPORT = Actor(user="ledger.testing.support", roles={Role.SUPPORT})


@cache
def _partner_user(partner_id: str, role: Role) -> Actor:
    return Actor(user=f"ledger.testing.{role.value.lower()}", roles={role}, partner_id=partner_id)
