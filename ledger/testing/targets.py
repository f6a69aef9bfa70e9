"""Where the state machine's clock aims: a microsecond before and at each boundary of an order.

Off-by-one rules break next to thresholds, and a threshold is found only
where the clock lands, so the clock lands there on purpose. A policy's own
thresholds (those beyond R8's day boundaries, like "no credit from day 7")
are few among a long term's thirty day boundaries; they are kept apart so
that the machine can aim at them as often as at all the others together.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.model import ReferenceRules
from ledger.values import ProductKind

__all__ = ["US", "OrderTargets", "own_thresholds"]

US = timedelta(microseconds=1)


def own_thresholds(
    policy: CancellationPolicy, rules: ReferenceRules, kind: ProductKind, term_days: int | None
) -> set[timedelta]:
    """What the policy and the model announce beyond what their base classes (R8) do.

    R8 announces a day boundary for each day of the term, so a whole-day
    threshold of a subclass (no credit from day 7) hides among them on a long
    term. Read again with a one-day term, where R8 announces only day 1 and
    the window's end, it stands out.
    """
    own: set[timedelta] = set()
    for term in {term_days, 1} if term_days is not None else {None}:
        own |= set(policy.boundaries(kind, term)) - set(
            CancellationPolicy.boundaries(policy, kind, term)
        )
        own |= set(rules.boundaries(kind, term)) - set(ReferenceRules.boundaries(rules, kind, term))
    return own


def _instants(purchased_at: datetime, durations: Iterable[timedelta]) -> tuple[datetime, ...]:
    moments = {purchased_at + d + offset for d in durations for offset in (-US, timedelta(0))}
    return tuple(sorted(m for m in moments if m > purchased_at))


@dataclass(frozen=True)
class OrderTargets:
    """The instants to aim at for one order, ascending: ``every`` one, and its ``own``."""

    every: tuple[datetime, ...]
    own: tuple[datetime, ...]

    @classmethod
    def of(
        cls, purchased_at: datetime, every: Iterable[timedelta], own: Iterable[timedelta]
    ) -> OrderTargets:
        """The instants 1 µs before and at each duration after ``purchased_at``."""
        return cls(_instants(purchased_at, every), _instants(purchased_at, own))

    def after(self, now: datetime) -> OrderTargets:
        """The targets still ahead of ``now``."""
        return OrderTargets(
            self.every[bisect_right(self.every, now) :], self.own[bisect_right(self.own, now) :]
        )

    def pick(self, index: int, *, own: bool) -> datetime:
        """The ``index``-th target ahead (wrapping round); among the order's own ones if asked
        and there are any."""
        among = self.own if own and self.own else self.every
        return among[index % len(among)]
