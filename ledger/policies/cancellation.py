"""R6 cancellation windows and R8 credit amounts.

The window per product kind is data: `CancellationPolicy.default()` is the
30-day rule, `CancellationPolicy.seven_day_subscriptions()` is the preset a
partner programme may switch to without a code change. A kind missing from
the mapping is never cancellable through the ledger. A different credit rule
(another proration) is a subclass that overrides `CancellationPolicy.credit`;
the ledger refuses any credit outside ``0 .. total`` in another currency.
`CancellationPolicy.boundaries` says where a policy's answers change, so that
property tests (`ledger.testing`) can look on both sides of every threshold;
a subclass with a threshold of its own announces it there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from ledger._validate import shown
from ledger.errors import InvalidInput
from ledger.money import Money
from ledger.values import ProductKind

ONE_DAY = timedelta(days=1)
DEFAULT_WINDOW = timedelta(days=30)
#: The longest window a policy may set: a century keeps every deadline a datetime.
MAX_WINDOW = timedelta(days=36_525)

__all__ = [
    "CancellationPolicy",
    "MAX_WINDOW",
    "ONE_DAY",
    "credit_for_cancellation",
    "days_left",
    "days_used",
]


@dataclass(frozen=True)
class CancellationPolicy:
    """How long after purchase each product kind may be cancelled."""

    windows: Mapping[ProductKind, timedelta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.windows, Mapping):
            raise InvalidInput(
                "windows",
                f"must be a mapping of ProductKind to timedelta, got {type(self.windows).__name__}",
            )
        try:
            items = list(self.windows.items())
        except Exception:  # a Mapping is user code
            raise InvalidInput("windows", "cannot be read as a mapping") from None
        for kind, window in items:
            if not isinstance(kind, ProductKind):
                raise InvalidInput("windows", f"{shown(kind)} is not a ProductKind")
            if not isinstance(window, timedelta) or not timedelta(0) < window <= MAX_WINDOW:
                raise InvalidInput(
                    "windows",
                    f"the window for {kind} must be a timedelta above zero, at most 100 years",
                )
        object.__setattr__(self, "windows", MappingProxyType(dict(items)))

    @classmethod
    def default(cls) -> CancellationPolicy:
        return cls(
            {ProductKind.PERPETUAL: DEFAULT_WINDOW, ProductKind.SUBSCRIPTION: DEFAULT_WINDOW}
        )

    @classmethod
    def seven_day_subscriptions(cls) -> CancellationPolicy:
        return cls(
            {ProductKind.PERPETUAL: DEFAULT_WINDOW, ProductKind.SUBSCRIPTION: timedelta(days=7)}
        )

    def is_cancellable_kind(self, kind: ProductKind) -> bool:
        return kind in self.windows

    def deadline(self, kind: ProductKind, purchased_at: datetime) -> datetime | None:
        """``purchased_at + window``, or None for kinds that are never cancellable."""
        window = self.windows.get(kind)
        return None if window is None else purchased_at + window

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        """The credit for cancelling at ``now``; R8 unless a subclass says otherwise."""
        return credit_for_cancellation(kind, total, term_days, purchased_at, now)

    def boundaries(self, kind: ProductKind, term_days: int | None) -> tuple[timedelta, ...]:
        """Durations after purchase at which `deadline` or `credit` may change, ascending.

        The ledger never calls this: it is the policy's statement of its own
        thresholds, for tests that probe a microsecond before and at each one
        (`ledger.testing`). A subclass with a threshold of its own (say, no
        credit from day 7) adds it::

            def boundaries(self, kind, term_days):
                return tuple(sorted({*super().boundaries(kind, term_days), 7 * ONE_DAY}))

        For R8 that is the window's end and, for a subscription, every whole
        day inside the window at which the prorated credit steps down (days 1
        to ``term_days - 1``) or stops at zero (day ``term_days``). Days past
        the window are left out: cancelling is refused there, so the credit
        cannot be seen. At most one boundary per day of the window, however
        long the term; none for a kind that is never cancellable.
        """
        window = self.windows.get(kind)
        if window is None:
            return ()
        found = {window}
        if kind is ProductKind.SUBSCRIPTION and term_days is not None:
            last_day = min(term_days, math.ceil(window / ONE_DAY))
            found.update(d * ONE_DAY for d in range(1, last_day + 1) if d * ONE_DAY < window)
        return tuple(sorted(found))


def days_used(purchased_at: datetime, now: datetime) -> int:
    """Started 24 h days since purchase: ``floor(elapsed / 1 day) + 1`` (R8)."""
    return max(now - purchased_at, timedelta(0)) // ONE_DAY + 1


def days_left(deadline: datetime, now: datetime) -> int:
    """``ceil(remaining / 1 day)``, 0 once the deadline is reached (R9)."""
    remaining = deadline - now
    if remaining <= timedelta(0):
        return 0
    return math.ceil(remaining / ONE_DAY)


def credit_for_cancellation(
    kind: ProductKind,
    total: Money,
    term_days: int | None,
    purchased_at: datetime,
    now: datetime,
) -> Money:
    """R8: perpetual 100 %; subscription prorated by unused days, never below zero."""
    if kind is ProductKind.SUBSCRIPTION:
        if term_days is None:
            raise InvalidInput("term_days", "a subscription needs a term")
        unused = max(term_days - days_used(purchased_at, now), 0)
        return total.prorate(unused, term_days)
    return total
