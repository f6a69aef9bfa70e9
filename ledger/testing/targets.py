"""Where the state machine's clock aims: a microsecond before and at each boundary of an order.

Off-by-one rules break next to thresholds, and a threshold is found only
where the clock lands, so the clock lands there on purpose. A policy's own
thresholds (those beyond R8's day boundaries, like "no credit from day 7")
are few among a long term's thirty day boundaries; they are kept apart so
that the machine can aim at them as often as at all the others together.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.model import ModelOrder, ReferenceRules
from ledger.values import ProductKind

__all__ = ["US", "OrderTargets", "own_thresholds", "upcoming", "work_out"]

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


def work_out(
    order: ModelOrder, every: set[timedelta], policy: CancellationPolicy, rules: ReferenceRules
) -> OrderTargets:
    """``order``'s targets: ``every`` moment, and those of them that are its own thresholds."""
    kind, term = order.product.kind, order.product.term_days
    # What the machine's `clock_targets` adds beyond the policy and the model is its own too.
    announced = {*policy.boundaries(kind, term), *rules.boundaries(kind, term)}
    own = (every - announced) | own_thresholds(policy, rules, kind, term)
    return OrderTargets.of(order.purchased_at, every, own & every)


def upcoming(
    aliases: Mapping[str, UUID],
    orders: Mapping[UUID, ModelOrder],
    now: datetime,
    targets_of: Callable[[ModelOrder], OrderTargets],
) -> list[tuple[str, OrderTargets]]:
    """Open orders (not cancelled) with targets still ahead of ``now``, oldest first."""
    seen: set[UUID] = set()
    found = []
    for alias, order_id in aliases.items():
        order = orders.get(order_id)
        if order is None or order_id in seen or order.cancelled_at is not None:
            continue
        seen.add(order_id)  # a repeated idempotency key names the same order again
        ahead = targets_of(order).after(now)
        if ahead.every:
            found.append((alias, ahead))
    return found
