"""What the state machine buys: product shapes, and terms and prices that make thresholds matter.

A threshold in a credit rule only shows when an order is still worth
something there: a "no credit from day 7" cut-off is invisible on a 4-day
term, whose R8 credit is already zero by then, and a one-day step in the
proration is invisible when the total is a cent spread over a year. So the
terms come from around every boundary the policy and the model announce,
short and long, and some prices are set by the term (see `PRICE_PLANS`),
which makes every day's step, and R8's exact halves, visible in the credit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import strategies as st

from ledger.money import Money, minor_unit_exponent
from ledger.values import Product, ProductKind

__all__ = [
    "LONG_TERM_DAYS",
    "PRICE_PLANS",
    "PROBE_PRICE_PLANS",
    "ProductShape",
    "price_for",
    "product_shapes",
    "terms_around",
]

DAY = timedelta(days=1)
#: The longest term drawn on purpose (three years); any term up to it is drawn too.
LONG_TERM_DAYS = 1095
#: Short terms (shorter than any window: R8's "never below zero"), a week, a month, long ones.
USUAL_TERMS = (1, 2, 3, 4, 7, 14, 28, 30, 31, 90, 365, LONG_TERM_DAYS)
#: Terms the calendar gives: a month of 28 to 31 days, a year of 365 or 366 (as often
#: as the months together: yearly terms are the common ones). A rule that counts a
#: year's or a month's days goes wrong on these, and in leap years.
CALENDAR_TERMS = (28, 29, 30, 31, 365, 366, 365, 366)
#: The other kinds: perpetual licences (R8's 100 %) twice as often as each never-cancellable one.
OTHER_KINDS = (
    ProductKind.PERPETUAL,
    ProductKind.PERPETUAL,
    ProductKind.SOFTWARE_PLAN,
    ProductKind.AZURE_RESERVATION,
)

#: How a purchase is priced: as drawn, or by the term. A whole minor unit per day
#: makes every day's step of R8's proration show in the credit; half a unit per
#: day of an even term makes ``total × unused / term`` end in exactly one half
#: (the case R8's half-even rounding decides) whenever ``quantity × unused`` is odd.
PER_DAY_PLANS = (
    "a minor unit per day of the term",
    "half a minor unit per day of the term",
    "one and a half minor units per day of the term",
    "a major unit per day of the term",
)
PRICE_PLANS = ("as drawn", "as drawn", "as drawn", *PER_DAY_PLANS)
#: For the machine's probes, which exist to show a threshold: mostly priced by the term.
PROBE_PRICE_PLANS = ("as drawn", *PER_DAY_PLANS, *PER_DAY_PLANS[1:])


@dataclass(frozen=True)
class ProductShape:
    """A product kind and, for a subscription, its term: what the machine buys."""

    kind: ProductKind
    term_days: int | None = None

    def product(self) -> Product:
        downloads = self.kind is not ProductKind.AZURE_RESERVATION
        return Product(
            product_id=f"PRD-{self.kind.value}",
            sku_id="0001",
            title=self.kind.value.replace("_", " ").title(),
            kind=self.kind,
            term_days=self.term_days if self.kind is ProductKind.SUBSCRIPTION else None,
            versions=("2024",) if downloads else (),
            languages=("en-US", "nl-NL") if downloads else (),
            bitness=(64,) if downloads else (),
        )


def terms_around(boundaries: Iterable[timedelta]) -> tuple[int, ...]:
    """Terms of a day less, the same and a day more than each boundary, in whole days.

    A term just past a threshold leaves a credit there; one just short of it
    has run out, which is where "never below zero" is tested.
    """
    days = {math.ceil(b / DAY) for b in boundaries}
    return tuple(sorted({t for d in days for t in (d - 1, d, d + 1) if 1 <= t <= 100 * 366}))


def product_shapes(terms: Iterable[int] = ()) -> st.SearchStrategy[ProductShape]:
    """Every kind; subscriptions (half of all) with one of ``terms``, a usual term, a
    calendar term (twice as often as each of the others) or any term."""
    return _shape(tuple(sorted(set(terms))))


@st.composite
def _shape(draw: st.DrawFn, extra: tuple[int, ...]) -> ProductShape:
    # A composite, so that a failing example shows ProductShape(...) itself; an index
    # per choice states the odds (one_of leaves them to hypothesis) and shrinks to the first.
    # Subscriptions carry most of the rules (R8): as often as the three other kinds together.
    if draw(st.integers(0, 1)) == 1:
        return ProductShape(draw(st.sampled_from(OTHER_KINDS)))
    sources: tuple[tuple[int, ...], ...] = (USUAL_TERMS, CALENDAR_TERMS, CALENDAR_TERMS)
    sources = (extra, *sources) if extra else sources
    source = draw(st.integers(0, len(sources)))
    if source == len(sources):
        return ProductShape(ProductKind.SUBSCRIPTION, draw(st.integers(1, LONG_TERM_DAYS)))
    return ProductShape(ProductKind.SUBSCRIPTION, draw(st.sampled_from(sources[source])))


def price_for(plan: str, drawn: Money, term_days: int | None) -> Money:
    """The unit price under ``plan`` (see `PRICE_PLANS`), in the drawn price's currency."""
    if term_days is None or plan == "as drawn":
        return drawn
    minor = {
        "a minor unit per day of the term": term_days,
        "half a minor unit per day of the term": max(term_days // 2, 1),
        "one and a half minor units per day of the term": term_days + term_days // 2,
        # Large enough that a denominator a day off (365 for 366) moves the credit.
        "a major unit per day of the term": term_days * 10 ** minor_unit_exponent(drawn.currency),
    }[plan]
    return Money.from_minor_units(minor, drawn.currency)
