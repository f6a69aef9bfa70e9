"""Policy mutants: the slips users make in their own `CancellationPolicy`, each caught by
`LedgerStateMachine` within 2,000 steps on memory (issue 13).

Every mutant is a small, plausible mistake in a policy a user wrote: an
off-by-one window or cut-off, the wrong rounding, a kind made cancellable, a
term ignored, a credit above the total. The machine runs it from the fixed
seed without shrinking (finding, not explaining, is measured here) and must
raise `ModelMismatch` within the budget. The steps and seconds it took are
printed in the test summary; docs/testing.md keeps a table of them.
"""

from __future__ import annotations

import calendar
import inspect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

import pytest

from ledger import CancellationPolicy, Money, ProductKind
from ledger.policies.cancellation import credit_for_cancellation, days_used
from ledger.testing import (
    DEFAULT_SEED,
    LedgerStateMachine,
    ModelMismatch,
    ModelOrder,
    ReferenceRules,
    branch_coverage,
    run,
)
from ledger.testing.targets import own_thresholds

DAY = timedelta(days=1)
BUDGET = 2_000
PERPETUAL, SUBSCRIPTION = ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION
SPEC_WINDOWS = {PERPETUAL: 30 * DAY, SUBSCRIPTION: 30 * DAY}
TWO_WEEKS = {PERPETUAL: 30 * DAY, SUBSCRIPTION: 14 * DAY}


# -- a programme of its own: subscriptions cancellable for 14 days, no credit from day 7 ----


@dataclass(frozen=True)
class TwoWeekSubscriptions(CancellationPolicy):
    """Subscriptions: R8's prorated credit, but none once ``no_credit_from`` has passed."""

    no_credit_from: timedelta = 7 * DAY

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and now - purchased_at >= self.no_credit_from:
            return Money.zero(total.currency)
        return super().credit(kind, total, term_days, purchased_at, now)

    def boundaries(self, kind: ProductKind, term_days: int | None) -> tuple[timedelta, ...]:
        own = {self.no_credit_from} if kind is SUBSCRIPTION else set()
        return tuple(sorted({*super().boundaries(kind, term_days), *own}))


class TwoWeekTerms(ReferenceRules):
    """The programme's terms as the model states them: no credit 7 × 24 h after purchase."""

    def credit(self, order: ModelOrder, now: datetime) -> Money:
        if order.product.kind is SUBSCRIPTION and now - order.purchased_at >= 7 * DAY:
            return Money.zero(order.total.currency)
        return super().credit(order, now)

    def boundaries(self, kind: ProductKind, term_days: int | None) -> tuple[timedelta, ...]:
        own = {7 * DAY} if kind is SUBSCRIPTION else set()
        return tuple(sorted({*super().boundaries(kind, term_days), *own}))


class TwoWeekProgramme(LedgerStateMachine):
    policy = TwoWeekSubscriptions(TWO_WEEKS)
    reference = TwoWeekTerms(TWO_WEEKS)
    rebuild_views = False  # policies are under test here, not the views


def test_the_programmes_own_thresholds_stand_out_from_r8s_day_boundaries() -> None:
    policy, terms = TwoWeekSubscriptions(TWO_WEEKS), TwoWeekTerms(TWO_WEEKS)
    assert 7 * DAY in policy.boundaries(SUBSCRIPTION, 365)
    assert own_thresholds(policy, terms, SUBSCRIPTION, 365) == {7 * DAY}
    assert own_thresholds(policy, terms, PERPETUAL, None) == set()
    late = TwoWeekSubscriptions(TWO_WEEKS, no_credit_from=8 * DAY)
    assert own_thresholds(late, terms, SUBSCRIPTION, 365) == {7 * DAY, 8 * DAY}
    assert own_thresholds(CancellationPolicy.default(), ReferenceRules(), SUBSCRIPTION, 9) == set()


# -- slips in R8 (each overrides `credit` as a user's policy would) -------------------------


@dataclass(frozen=True)
class ForgetsTheStartedDay(CancellationPolicy):
    """Counts whole days used, forgetting R8's ``+ 1`` for the day already started."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and term_days is not None:
            used = (now - purchased_at) // DAY
            return total.prorate(max(term_days - used, 0), term_days)
        return total


@dataclass(frozen=True)
class CountsDaysWithCeil(CancellationPolicy):
    """``days_used = ceil(elapsed / 1 day)``: equal to R8 except on the stroke of a day."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and term_days is not None:
            used = math.ceil((now - purchased_at) / DAY)
            return total.prorate(max(term_days - used, 0), term_days)
        return total


@dataclass(frozen=True)
class RoundsHalfUp(CancellationPolicy):
    """R8's proration, rounded half up instead of half even."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and term_days is not None:
            exact = Fraction(
                total.minor_units * max(term_days - days_used(purchased_at, now), 0), term_days
            )
            return Money.from_minor_units(math.floor(exact + Fraction(1, 2)), total.currency)
        return total


@dataclass(frozen=True)
class RoundsDown(CancellationPolicy):
    """R8's proration, truncated to the minor unit."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and term_days is not None:
            unused = max(term_days - days_used(purchased_at, now), 0)
            return Money.from_minor_units(total.minor_units * unused // term_days, total.currency)
        return total


@dataclass(frozen=True)
class ProratesOverAYear(CancellationPolicy):
    """Ignores the term: every subscription is prorated as if it ran 365 days."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION:
            return total.prorate(max(365 - days_used(purchased_at, now), 0), 365)
        return total


@dataclass(frozen=True)
class PerpetualGoodwill(CancellationPolicy):
    """Adds 10 % goodwill to a perpetual licence's credit: more than the total (R8)."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is PERPETUAL:
            return total.prorate(11, 10)
        return credit_for_cancellation(kind, total, term_days, purchased_at, now)


@dataclass(frozen=True)
class NoFloorAtZero(CancellationPolicy):
    """Forgets "never below zero": a term shorter than the window goes negative."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and term_days is not None:
            return total.prorate(term_days - days_used(purchased_at, now), term_days)
        return total


@dataclass(frozen=True)
class DeadlineAMicrosecondLate(CancellationPolicy):
    """Lets the deadline itself still count as inside the window (``<=`` for ``<``)."""

    def deadline(self, kind: ProductKind, purchased_at: datetime) -> datetime | None:
        deadline = super().deadline(kind, purchased_at)
        return None if deadline is None else deadline + timedelta(microseconds=1)


@dataclass(frozen=True)
class YearOfPurchaseDenominator(CancellationPolicy):
    """Prorates a yearly subscription over the days of the year it was bought in: 366 in 2028."""

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        if kind is SUBSCRIPTION and term_days == 365:
            days = 366 if calendar.isleap(purchased_at.year) else 365
            return total.prorate(max(days - days_used(purchased_at, now), 0), days)
        return credit_for_cancellation(kind, total, term_days, purchased_at, now)


# -- the mutants --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    name: str
    slip: str
    policy: CancellationPolicy
    reference: ReferenceRules

    def machine(self) -> type[LedgerStateMachine]:
        attributes = {"policy": self.policy, "reference": self.reference, "rebuild_views": False}
        return type(self.name, (LedgerStateMachine,), attributes)


MUTANTS = [
    # The programme's own thresholds: the cut-off and the window.
    Mutant(
        "CutOffOnDay8",
        "no credit from day 8 instead of day 7",
        TwoWeekSubscriptions(TWO_WEEKS, no_credit_from=8 * DAY),
        TwoWeekTerms(TWO_WEEKS),
    ),
    Mutant(
        "CutOffOnDay6",
        "no credit from day 6 instead of day 7",
        TwoWeekSubscriptions(TWO_WEEKS, no_credit_from=6 * DAY),
        TwoWeekTerms(TWO_WEEKS),
    ),
    Mutant(
        "CutOffAMicrosecondLate",
        "a credit still at exactly 7 × 24 h (> for >=)",
        TwoWeekSubscriptions(TWO_WEEKS, no_credit_from=7 * DAY + timedelta(microseconds=1)),
        TwoWeekTerms(TWO_WEEKS),
    ),
    Mutant(
        "WindowOf15Days",
        "subscriptions cancellable for 15 days instead of 14",
        TwoWeekSubscriptions({**TWO_WEEKS, SUBSCRIPTION: 15 * DAY}),
        TwoWeekTerms(TWO_WEEKS),
    ),
    Mutant(
        "WindowOf13Days",
        "subscriptions cancellable for 13 days instead of 14",
        TwoWeekSubscriptions({**TWO_WEEKS, SUBSCRIPTION: 13 * DAY}),
        TwoWeekTerms(TWO_WEEKS),
    ),
    # R6 and R8 themselves, against SPEC's terms.
    Mutant(
        "WindowOf31Days",
        "a 31-day window instead of 30",
        CancellationPolicy({**SPEC_WINDOWS, SUBSCRIPTION: 31 * DAY}),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "DeadlineAMicrosecondLate",
        "cancellable at the deadline itself",
        DeadlineAMicrosecondLate(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "SoftwarePlansCancellable",
        "SOFTWARE_PLAN made cancellable",
        CancellationPolicy({**SPEC_WINDOWS, ProductKind.SOFTWARE_PLAN: 30 * DAY}),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "ForgetsTheStartedDay",
        "days used = floor(elapsed), without R8's + 1",
        ForgetsTheStartedDay(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "CountsDaysWithCeil",
        "days used = ceil(elapsed), wrong on the stroke of each day",
        CountsDaysWithCeil(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "RoundsHalfUp",
        "rounds half up instead of half even",
        RoundsHalfUp(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "RoundsDown",
        "truncates instead of rounding half even",
        RoundsDown(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "ProratesOverAYear",
        "ignores the term: prorates over 365 days",
        ProratesOverAYear(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "NoFloorAtZero",
        "forgets 'never below zero'",
        NoFloorAtZero(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    Mutant(
        "PerpetualGoodwill",
        "credits 110 % of a perpetual licence: above the total",
        PerpetualGoodwill(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
    # The calendar: only a run that buys in a leap year can see it (issue 22).
    Mutant(
        "YearOfPurchaseDenominator",
        "prorates a 365-day term over 366 days when bought in a leap year",
        YearOfPurchaseDenominator(SPEC_WINDOWS),
        ReferenceRules(SPEC_WINDOWS),
    ),
]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_a_policy_mutant_is_caught_within_2000_steps_on_memory(
    mutant: Mutant, record_property: pytest.RecordProperty
) -> None:
    with pytest.raises(ModelMismatch) as caught:
        run(mutant.machine(), steps=BUDGET, shrink=False)
    report = caught.value.report
    assert report is not None
    assert report.caught
    assert report.seed == DEFAULT_SEED
    assert report.steps <= BUDGET
    story = str(caught.value)
    assert all(part in story for part in ("\nGiven\n", "\nWhen\n", "\nThen "))
    record_property("state_machine", f"{report} [{mutant.slip}]")


def test_the_programme_itself_passes_and_every_branch_of_its_credit_is_taken(
    record_property: pytest.RecordProperty,
) -> None:
    with branch_coverage(TwoWeekSubscriptions.credit, credit_for_cancellation) as measured:
        report = run(TwoWeekProgramme, steps=1_000)
    record_property("state_machine", f"{report}\n{measured}")
    assert measured.per_function()["TwoWeekSubscriptions.credit"] == (4, 4)
    # The one branch never taken: a subscription without a term, which Product refuses.
    assert [b.to_line for b in measured.missed] == [_line_of("raise InvalidInput")]


class DefaultPolicy(LedgerStateMachine):
    rebuild_views = False


def test_every_reachable_branch_of_the_default_credit_is_taken(
    record_property: pytest.RecordProperty,
) -> None:
    with branch_coverage(CancellationPolicy.credit, credit_for_cancellation) as measured:
        report = run(DefaultPolicy, steps=1_000)
    record_property("state_machine", f"{report}\n{measured}")
    assert measured.per_function()["credit_for_cancellation"] == (3, 4)
    assert [b.to_line for b in measured.missed] == [_line_of("raise InvalidInput")]


def _line_of(text: str) -> int:
    source, first = inspect.getsourcelines(credit_for_cancellation)
    return first + next(i for i, line in enumerate(source) if text in line)
