"""What-if against a plain model (SPEC §10): random histories under the default policy,
replayed under random candidate windows, each row and total worked out independently."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import CancellationPolicy, Ledger, Money, OrderTerms, ProductKind
from tests.support import AGENT, START, ManualClock, add_tenant, buy, support

DAY = timedelta(days=1)
SUBSCRIPTION, PERPETUAL = ProductKind.SUBSCRIPTION, ProductKind.PERPETUAL


@dataclass(frozen=True)
class Drawn:
    kind: ProductKind
    term_days: int | None
    minor_units: int
    bought_after: timedelta
    #: Or "at the candidate's deadline" / "just before it": the boundaries the replay decides.
    cancelled_after: timedelta | str | None


orders = st.builds(
    Drawn,
    kind=st.sampled_from([PERPETUAL, SUBSCRIPTION]),
    term_days=st.integers(1, 400),
    minor_units=st.integers(1, 10_000_000),
    bought_after=st.integers(0, 60 * 24 * 20).map(lambda m: timedelta(minutes=m)),
    # Cancelled within the default 30 days, often on the stroke of a day.
    cancelled_after=st.none()
    | st.sampled_from(["at", "before"])
    | st.integers(0, 29).map(lambda d: d * DAY)
    | st.integers(0, 30 * 24 * 60 - 1).map(lambda m: timedelta(minutes=m)),
)
#: Mostly inside the default's 30 days, where a cancellation can meet the candidate's deadline.
windows = st.none() | st.integers(1, 29 * 24).map(lambda hours: timedelta(hours=hours))
windows |= st.integers(1, 45).map(lambda days: days * DAY)


def r8_credit(minor_units: int, kind: ProductKind, term: int | None, elapsed: timedelta) -> int:
    """R8 in minor units, stated apart from the ledger: round half even once."""
    if kind is PERPETUAL:
        return minor_units
    assert term is not None
    used = elapsed // DAY + 1
    return round(Fraction(minor_units * max(term - used, 0), term))


@dataclass(frozen=True)
class Halving(CancellationPolicy):
    """Half of R8's credit (written in R19's form)."""

    def credit(self, terms: OrderTerms, now: datetime) -> Money:  # type: ignore[override]
        return super().credit(terms, now).prorate(1, 2)


def eur(minor_units: int) -> Money:
    return Money.from_minor_units(minor_units, "EUR")


@settings(max_examples=100, deadline=None)
@given(
    drawn=st.lists(orders, min_size=1, max_size=6),
    perpetual=windows,
    subscription=windows,
    first_day=st.none() | st.integers(0, 25),
    days=st.integers(0, 25),
    halving=st.booleans(),
)
def test_what_if_agrees_with_the_model(
    drawn: list[Drawn],
    perpetual: timedelta | None,
    subscription: timedelta | None,
    first_day: int | None,
    days: int,
    halving: bool,
) -> None:
    candidate_windows = {
        kind: window
        for kind, window in ((PERPETUAL, perpetual), (SUBSCRIPTION, subscription))
        if window is not None
    }
    candidate = (Halving if halving else CancellationPolicy)(candidate_windows)
    for index, order in enumerate(drawn):
        if isinstance(order.cancelled_after, str):
            window = candidate_windows.get(order.kind)
            at = None if window is None or window >= 30 * DAY else window
            if at is not None and order.cancelled_after == "before":
                at -= timedelta(microseconds=1)
            drawn[index] = replace(order, cancelled_after=at)
    clock = ManualClock()
    actions: list[tuple[datetime, int, str]] = []
    for index, order in enumerate(drawn):
        bought_at = START + order.bought_after
        actions.append((bought_at, index, "buy"))
        if isinstance(order.cancelled_after, timedelta):
            actions.append((bought_at + order.cancelled_after, index, "cancel"))
    ids = {}
    with Ledger.open("memory://", clock=clock) as led:
        tenant_id = add_tenant(led)
        for at, index, action in sorted(actions, key=lambda a: (a[0], a[2] == "cancel")):
            clock.now = at
            order = drawn[index]
            if action == "buy":
                term = order.term_days if order.kind is SUBSCRIPTION else None
                price = eur(order.minor_units)
                ids[index] = buy(led, tenant_id, order.kind, unit_price=price, term_days=term)
            else:
                led.cancel(AGENT, ids[index])
        if first_day is None:  # the whole history
            start, end = date.min, date.max
            report = led.audit.what_if(support(), candidate)
        else:
            start = (START + first_day * DAY).date()
            end = (START + (first_day + days) * DAY).date()
            report = led.audit.what_if(support(), candidate, start, end)

    expected_rows = {}
    actual_total = candidate_total = 0
    for index, order in enumerate(drawn):
        bought_at = START + order.bought_after
        if not start <= bought_at.date() <= end:
            continue
        term = order.term_days if order.kind is SUBSCRIPTION else None
        window = candidate_windows.get(order.kind)
        candidate_deadline = None if window is None else bought_at + window
        credit = candidate_credit = None
        change = "same" if candidate_deadline == bought_at + 30 * DAY else "deadline_changed"
        if isinstance(order.cancelled_after, timedelta):
            cancelled_at = bought_at + order.cancelled_after
            credit = r8_credit(order.minor_units, order.kind, term, order.cancelled_after)
            actual_total += credit
            if candidate_deadline is None or cancelled_at >= candidate_deadline:
                change = "would_be_refused"
            else:
                candidate_credit = round(Fraction(credit, 2)) if halving else credit
                candidate_total += candidate_credit
                if candidate_credit != credit:
                    change = "credit_changed"
        expected_rows[ids[index]] = (
            candidate_deadline,
            None if credit is None else eur(credit),
            None if candidate_credit is None else eur(candidate_credit),
            change,
        )
    got = {
        row.order_id: (row.candidate_deadline, row.credit, row.candidate_credit, row.change)
        for row in report.rows
    }
    assert got == expected_rows
    if actual_total or candidate_total:
        totals = report.totals["EUR"]
        assert (totals.actual, totals.candidate, totals.difference) == (
            eur(actual_total),
            eur(candidate_total),
            eur(candidate_total - actual_total),
        )
    else:
        assert set(report.totals) <= {"EUR"}
