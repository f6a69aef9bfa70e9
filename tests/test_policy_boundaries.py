"""`CancellationPolicy.boundaries`: where a policy's answers change (R6 window, R8 credit).

Property tests aim the clock at these, so they must be complete: between two
consecutive boundaries neither the deadline nor the credit may change.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from ledger import CancellationPolicy, Money, ProductKind
from ledger.testing import START, ReferenceRules
from ledger.testing.model import ModelOrder
from tests.support import product

DAY = timedelta(days=1)
US = timedelta(microseconds=1)
PERPETUAL, SUBSCRIPTION = ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION


def test_r6_a_perpetual_licence_changes_only_at_the_end_of_its_window() -> None:
    assert CancellationPolicy.default().boundaries(PERPETUAL, None) == (30 * DAY,)


def test_r6_a_kind_that_is_never_cancellable_has_no_boundaries() -> None:
    policy = CancellationPolicy.default()
    assert policy.boundaries(ProductKind.SOFTWARE_PLAN, None) == ()
    assert policy.boundaries(ProductKind.AZURE_RESERVATION, None) == ()


def test_r8_a_long_subscription_changes_on_every_day_inside_the_window() -> None:
    found = CancellationPolicy.default().boundaries(SUBSCRIPTION, 365)
    assert found == tuple(d * DAY for d in range(1, 31))


def test_r8_a_short_term_stops_changing_when_it_is_used_up() -> None:
    assert CancellationPolicy.default().boundaries(SUBSCRIPTION, 4) == (
        DAY,
        2 * DAY,
        3 * DAY,
        4 * DAY,
        30 * DAY,
    )


def test_r6_a_preset_window_bounds_the_days() -> None:
    found = CancellationPolicy.seven_day_subscriptions().boundaries(SUBSCRIPTION, 1095)
    assert found == tuple(d * DAY for d in range(1, 8))


def test_a_window_of_part_days_ends_where_it_ends() -> None:
    policy = CancellationPolicy({SUBSCRIPTION: timedelta(hours=36)})
    assert policy.boundaries(SUBSCRIPTION, 365) == (DAY, timedelta(hours=36))


@given(
    term=st.integers(1, 400),
    minor=st.integers(1, 10**9),
    elapsed=st.integers(0, 30 * 86_400 * 10**6 - 1).map(lambda us: us * US),
)
def test_r8_the_credit_is_constant_between_two_boundaries(
    term: int, minor: int, elapsed: timedelta
) -> None:
    policy = CancellationPolicy.default()
    total = Money.from_minor_units(minor, "EUR")
    found = policy.boundaries(SUBSCRIPTION, term)
    start = max((b for b in found if b <= elapsed), default=timedelta(0))

    def credit(after: timedelta) -> Money:
        return policy.credit(SUBSCRIPTION, total, term, START, START + after)

    assert credit(elapsed) == credit(start)


@given(term=st.integers(1, 1095), days=st.integers(1, 60))
def test_the_model_announces_the_same_boundaries_as_the_default_policy(
    term: int, days: int
) -> None:
    windows = {PERPETUAL: days * DAY, SUBSCRIPTION: days * DAY}
    rules, policy = ReferenceRules(windows), CancellationPolicy(windows)
    for kind, term_days in ((SUBSCRIPTION, term), (PERPETUAL, None)):
        assert rules.boundaries(kind, term_days) == policy.boundaries(kind, term_days)
    assert rules.boundaries(ProductKind.SOFTWARE_PLAN, None) == ()


def test_the_model_credit_steps_down_at_each_day_until_the_term_is_used_up() -> None:
    rules = ReferenceRules()
    order = ModelOrder(
        order_id=uuid4(),
        partner_id="P1",
        tenant_id=uuid4(),
        product=product(SUBSCRIPTION, term_days=10),
        quantity=1,
        unit_price=Money("10.00", "EUR"),
        tax_inclusive=False,
        purchased_at=START,
        deadline=START + 30 * DAY,
        request=(),
    )
    found = rules.boundaries(SUBSCRIPTION, 10)
    assert found == (*(d * DAY for d in range(1, 11)), 30 * DAY)
    for boundary in found[:9]:
        assert rules.credit(order, START + boundary) < rules.credit(order, START + boundary - US)
    # Day 10: nothing was left to credit since day 9; from here R8's floor holds.
    assert rules.credit(order, START + 10 * DAY) == Money("0.00", "EUR")
