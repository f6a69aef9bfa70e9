"""Where a state machine's clock aims for each order: its boundaries and the calendar's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import strategies as st

from ledger.policies.cancellation import CancellationPolicy
from ledger.testing import dates
from ledger.testing.clock import ManualClock
from ledger.testing.harness import Harness
from ledger.testing.model import ModelOrder, ReferenceModel
from ledger.testing.targets import OrderTargets, upcoming, work_out

__all__ = ["ClockAiming"]


class ClockAiming:
    """Part of `LedgerStateMachine`: the hooks and bookkeeping of the clock's targets."""

    # Set by the machine's __init__.
    clock: ManualClock
    harness: Harness
    model: ReferenceModel
    _policy: CancellationPolicy
    _targets: dict[UUID, OrderTargets]

    def policy_of(self, order: ModelOrder) -> CancellationPolicy:
        raise NotImplementedError  # `PolicyDeployment` answers

    def starts(self) -> st.SearchStrategy[datetime]:
        """Where an example's clock starts, unless ``start`` fixes it: `dates.start_instants`."""
        return dates.start_instants()

    def calendar_targets(self, order: ModelOrder, until: datetime) -> Iterable[datetime]:
        """Instants the clock aims at for ``order`` (1 µs before, and at), up to ``until``
        (a day past its last announced boundary): the month starts and leap days there,
        so that month and year ends and 29 February are probed. Return ``()`` to aim
        at durations only."""
        return dates.calendar_instants(order.purchased_at, until)

    def clock_targets(self, order: ModelOrder) -> Iterable[timedelta]:
        """Durations after ``order``'s purchase that the clock aims at (1 µs before, and at).

        By default every boundary the policy under test announces
        (`CancellationPolicy.boundaries`) and every one the model does
        (`ReferenceRules.boundaries`), so a threshold either side forgot is
        still probed. Add moments of your own::

            def clock_targets(self, order):
                return (*super().clock_targets(order), timedelta(days=90))

        Called once per order, when the clock first aims at one.
        """
        kind, term = order.product.kind, order.product.term_days
        return {*self._policy.boundaries(kind, term), *self.model.rules.boundaries(kind, term)}

    def _upcoming(self) -> list[tuple[str, OrderTargets]]:
        """Open orders (not cancelled) with clock targets still ahead, oldest first."""
        aliases = self.harness.driver.order_ids
        return upcoming(aliases, self.model.orders, self.clock(), self._targets_of)

    def _targets_of(self, order: ModelOrder) -> OrderTargets:
        targets = self._targets.get(order.order_id)
        if targets is None:
            every = set(self.clock_targets(order))
            horizon = order.purchased_at + max(every, default=timedelta(0))
            on_calendar = self.calendar_targets(order, horizon + dates.HORIZON_PAST_BOUNDARIES)
            every |= {moment - order.purchased_at for moment in on_calendar}
            policy = self.policy_of(order)
            targets = work_out(order, every, policy, order.rules or self.model.rules)
            self._targets[order.order_id] = targets
        return targets
