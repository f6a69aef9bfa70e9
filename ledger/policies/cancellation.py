"""R6 cancellation windows and R8 credit amounts, decided from the whole order (R19).

The window per product kind is data: `CancellationPolicy.default()` is the
30-day rule, `CancellationPolicy.seven_day_subscriptions()` is the preset a
partner programme may switch to without a code change. A kind missing from
the mapping is never cancellable through the ledger. A rule of its own (a
72-hour window for one product line, a tier by market, another proration)
is a subclass that overrides `deadline(terms)` or `credit(terms, now)`; the
`OrderTerms` they get is the whole order as bought.

Every policy has a ``policy_id`` (R20): the order records it at purchase, and
its deadline and credit always come from the policy with that id. The id is a
promise that the answers do not change: a policy whose answers change is a
new id, and the old one is passed as one of ``earlier_policies``.

Subclasses written before R19, with ``deadline(kind, purchased_at)`` and
``credit(kind, total, term_days, purchased_at, now)``, keep working: the
ledger calls them with those arguments (`ledger.policies.calls`), and the
base methods still take that form from ``super()``.

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
from typing import Any, overload

from ledger._validate import shown
from ledger.errors import InvalidInput
from ledger.money import Money
from ledger.values import OrderTerms, ProductKind

ONE_DAY = timedelta(days=1)
DEFAULT_WINDOW = timedelta(days=30)
#: The longest window a policy may set: a century keeps every deadline a datetime.
MAX_WINDOW = timedelta(days=36_525)
#: The built-in default's id: orders stored before ``policy_id`` existed belong to it (R20).
STANDARD_POLICY_ID = "standard-30d/2026-11"
SEVEN_DAY_POLICY_ID = "subscriptions-7d/2026-11"
_MAX_POLICY_ID = 200

__all__ = [
    "CancellationPolicy",
    "MAX_WINDOW",
    "ONE_DAY",
    "SEVEN_DAY_POLICY_ID",
    "STANDARD_POLICY_ID",
    "credit_for_cancellation",
    "days_left",
    "days_used",
]


def _duration(window: timedelta) -> str:
    """``30d``, ``72h``, ``90s`` or ``5us``: the largest unit that divides the window."""
    for unit, name in ((ONE_DAY, "d"), (timedelta(hours=1), "h"), (timedelta(seconds=1), "s")):
        if window % unit == timedelta(0):
            return f"{window // unit}{name}"
    return f"{window // timedelta(microseconds=1)}us"


def windows_id(windows: Mapping[ProductKind, timedelta]) -> str:
    """The windows in words, in kind order: ``perpetual=30d,subscription=7d``."""
    return ",".join(
        f"{kind.value.lower()}={_duration(windows[kind])}"
        for kind in ProductKind
        if kind in windows
    )


_PRESETS = {
    windows_id({ProductKind.PERPETUAL: DEFAULT_WINDOW, ProductKind.SUBSCRIPTION: DEFAULT_WINDOW}): (
        STANDARD_POLICY_ID
    ),
    windows_id(
        {ProductKind.PERPETUAL: DEFAULT_WINDOW, ProductKind.SUBSCRIPTION: timedelta(days=7)}
    ): SEVEN_DAY_POLICY_ID,
}


def check_policy_id(field_name: str, policy_id: object) -> str:
    if not isinstance(policy_id, str) or not policy_id.strip() or len(policy_id) > _MAX_POLICY_ID:
        raise InvalidInput(
            field_name, f"must be a non-empty text of at most {_MAX_POLICY_ID} characters"
        )
    if not policy_id.isprintable():
        raise InvalidInput(field_name, "must be printable text")
    return policy_id


@dataclass(frozen=True)
class CancellationPolicy:
    """How long after purchase an order may be cancelled, and what cancelling credits.

    ``policy_id`` names the policy in the orders it governs (R20). Left out, it
    is made from the class and the windows: the built-in presets are
    ``standard-30d/2026-11`` and ``subscriptions-7d/2026-11``; a subclass is
    ``module.Class:perpetual=30d,subscription=14d``. A subclass with settings of
    its own beyond the windows should name itself, or two settings share an id.
    """

    windows: Mapping[ProductKind, timedelta] = field(default_factory=dict)
    policy_id: str = ""

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
        windows = MappingProxyType(dict(items))
        object.__setattr__(self, "windows", windows)
        if self.policy_id == "":
            object.__setattr__(self, "policy_id", self._derived_id(windows))
        else:
            check_policy_id("policy_id", self.policy_id)

    def _derived_id(self, windows: Mapping[ProductKind, timedelta]) -> str:
        described = windows_id(windows)
        cls = type(self)
        if cls is CancellationPolicy:
            return _PRESETS.get(described, f"windows:{described}")
        return f"{cls.__module__}.{cls.__qualname__}:{described}"

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

    @overload
    def deadline(self, terms: OrderTerms, /) -> datetime | None: ...
    @overload
    def deadline(self, kind: ProductKind, purchased_at: datetime, /) -> datetime | None: ...
    def deadline(self, *args: Any) -> datetime | None:
        """``purchased_at`` + the window of the product's kind, or None for kinds that are
        never cancellable. ``deadline(kind, purchased_at)`` is the form of before R19."""
        kind, purchased_at = _kind_and_time(args)
        window = self.windows.get(kind)
        return None if window is None else purchased_at + window

    @overload
    def credit(self, terms: OrderTerms, now: datetime, /) -> Money: ...
    @overload
    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
        /,
    ) -> Money: ...
    def credit(self, *args: Any) -> Money:
        """The credit for cancelling at ``now``: R8 unless a subclass says otherwise.
        ``credit(kind, total, term_days, purchased_at, now)`` is the form of before R19."""
        return credit_for_cancellation(*_credit_arguments(args))

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


def _kind_and_time(args: tuple[Any, ...]) -> tuple[ProductKind, datetime]:
    if len(args) == 1 and isinstance(args[0], OrderTerms):
        return args[0].product.kind, args[0].purchased_at
    if len(args) == 2:
        return args[0], args[1]
    raise TypeError("deadline takes (terms) or (kind, purchased_at)")


def _credit_arguments(
    args: tuple[Any, ...],
) -> tuple[ProductKind, Money, int | None, datetime, datetime]:
    if len(args) == 2 and isinstance(args[0], OrderTerms):
        terms, now = args
        return terms.product.kind, terms.total, terms.product.term_days, terms.purchased_at, now
    if len(args) == 5:
        kind, total, term_days, purchased_at, now = args
        return kind, total, term_days, purchased_at, now
    raise TypeError("credit takes (terms, now) or (kind, total, term_days, purchased_at, now)")
