"""`compare`: the simplest order on which two cancellation policies answer differently.

Before switching policy (R20) a billing engineer wants to know *where* the
new one differs from the old, not only that a what-if over the history
changed some totals: the smallest order, and the moment, at which the two
give a different deadline or a different credit (or one refuses). Hypothesis
searches orders of every kind, term, market and price, bought on the
calendar's irregular days, at the moments either policy announces (1 µs
before and at each `boundaries`) and the calendar's month ends and leap days,
and shrinks what it finds to the simplest such order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import HealthCheck, Phase, Verbosity, assume, find, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from ledger.errors import ConfigurationError
from ledger.money import Money
from ledger.policies.calls import GoverningPolicy
from ledger.policies.markets import is_tax_inclusive
from ledger.testing import dates, shapes
from ledger.testing.readable import duration, instant
from ledger.testing.runner import DEFAULT_SEED
from ledger.testing.strategies import markets, unit_prices
from ledger.values import OrderTerms, ProductKind

__all__ = ["PolicyDifference", "compare"]

US = timedelta(microseconds=1)
#: R15: no order total above 10^12 major units.
MAX_TOTAL = 10**12
#: The order id the policies' refusals name: there is no real order.
COMPARED = UUID(int=0)

Deadline = datetime | str | None
Credit = Money | str


@dataclass(frozen=True)
class PolicyDifference:
    """An order, and a moment after its purchase, on which two policies disagree.

    ``deadline_a``/``deadline_b`` are the deadlines each gives (None: never
    cancellable); ``credit_a``/``credit_b`` what each credits for a cancel at
    ``at``: `Money`, ``"not cancellable"`` past its deadline, or ``"refused: ..."``
    when the policy's answer is one the ledger refuses (`ConfigurationError`).
    """

    policy_a: str
    policy_b: str
    terms: OrderTerms
    at: datetime
    deadline_a: Deadline
    deadline_b: Deadline
    credit_a: Credit
    credit_b: Credit

    def __str__(self) -> str:
        product, terms = self.terms.product, self.terms
        what = product.kind.value
        if product.kind is ProductKind.SUBSCRIPTION:
            what += f" with a {product.term_days}-day term"
        lines = [
            f"{self.policy_a} and {self.policy_b} differ on {terms.quantity} × {what}"
            f" at {terms.unit_price} (total {terms.total}) in {terms.market},"
            f" bought {instant(terms.purchased_at)}:",
            f"  deadline: {_shown(self.deadline_a)} | {_shown(self.deadline_b)}",
        ]
        if self.credit_a != self.credit_b:
            lines.append(
                f"  cancelled {duration(self.at - terms.purchased_at)} after purchase:"
                f" {_shown(self.credit_a)} | {_shown(self.credit_b)}"
            )
        return "\n".join(lines)


def _shown(answer: object) -> str:
    if isinstance(answer, datetime):
        return instant(answer)
    return "never cancellable" if answer is None else str(answer)


def compare(
    policy_a: object,
    policy_b: object,
    *,
    kinds: tuple[ProductKind, ...] | None = None,
    max_examples: int = 2_000,
    seed_value: int = DEFAULT_SEED,
) -> PolicyDifference | None:
    """The simplest order (and moment) on which ``policy_a`` and ``policy_b`` differ; None
    if none was found in ``max_examples`` orders.

    Deterministic for a seed. ``kinds`` limits the products tried (default: every kind).
    Each policy is called as the ledger calls it (R19's form or the kind-only one) and its
    answers checked as the ledger checks them, so a credit the ledger would refuse is a
    difference too.
    """
    a, b = GoverningPolicy(policy_a, "policy_a"), GoverningPolicy(policy_b, "policy_b")
    cases = _cases(policy_a, policy_b, kinds)

    def differ(case: tuple[OrderTerms, timedelta]) -> bool:
        terms, after = case
        return _answers(a, terms, after) != _answers(b, terms, after)

    config = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    try:
        terms, after = seed(seed_value)(find)(cases, differ, settings=config)
    except NoSuchExample:
        return None
    deadline_a, credit_a = _answers(a, terms, after)
    deadline_b, credit_b = _answers(b, terms, after)
    return PolicyDifference(
        a.policy_id,
        b.policy_id,
        terms,
        terms.purchased_at + after,
        deadline_a,
        deadline_b,
        credit_a,
        credit_b,
    )


def _answers(
    policy: GoverningPolicy, terms: OrderTerms, after: timedelta
) -> tuple[Deadline, Credit]:
    """The deadline, and what a cancel ``after`` the purchase gets, as the ledger would see."""
    try:
        deadline = policy.deadline(terms, COMPARED)
    except ConfigurationError as refused:
        return f"refused: {refused}", "not cancellable"
    now = terms.purchased_at + after
    if deadline is None or now >= deadline:
        return deadline, "not cancellable"
    try:
        return deadline, policy.credit(terms, now, terms.total, COMPARED)
    except ConfigurationError as refused:
        return deadline, f"refused: {refused}"


def _boundaries(policy: object, kind: ProductKind, term_days: int | None) -> set[timedelta]:
    announce = getattr(policy, "boundaries", None)
    if not callable(announce):
        return set()
    try:
        return {d for d in announce(kind, term_days) if isinstance(d, timedelta)}
    except Exception:  # a policy's own statement of thresholds is a hint, never required
        return set()


def _cases(
    policy_a: object, policy_b: object, kinds: tuple[ProductKind, ...] | None
) -> st.SearchStrategy[tuple[OrderTerms, timedelta]]:
    announced = {
        *_boundaries(policy_a, ProductKind.SUBSCRIPTION, shapes.LONG_TERM_DAYS),
        *_boundaries(policy_b, ProductKind.SUBSCRIPTION, shapes.LONG_TERM_DAYS),
    }
    shape_strategy = shapes.product_shapes(shapes.terms_around(announced))
    if kinds is not None:
        wanted = set(kinds)
        shape_strategy = shape_strategy.filter(lambda shape: shape.kind in wanted)

    @st.composite
    def case(draw: st.DrawFn) -> tuple[OrderTerms, timedelta]:
        product = draw(shape_strategy).product()
        market = draw(markets())
        quantity = draw(st.integers(1, 5) | st.integers(1, 100_000))
        drawn = draw(unit_prices())
        plan = draw(st.sampled_from(shapes.PRICE_PLANS))
        unit_price = shapes.price_for(plan, drawn, product.term_days)
        assume((unit_price * quantity).amount <= MAX_TOTAL)  # R15: the ledger sells no more
        purchased_at = draw(dates.start_instants())
        terms = OrderTerms(
            product=product,
            market=market,
            quantity=quantity,
            unit_price=unit_price,
            total=unit_price * quantity,
            tax_inclusive=is_tax_inclusive(market),
            purchased_at=purchased_at,
        )
        kind, term = product.kind, product.term_days
        moments = {*_boundaries(policy_a, kind, term), *_boundaries(policy_b, kind, term)}
        horizon = max(moments, default=timedelta(days=30)) + timedelta(days=1)
        moments |= {
            m - purchased_at for m in dates.calendar_instants(purchased_at, purchased_at + horizon)
        }
        aimed = sorted(
            {d + offset for d in moments for offset in (-US, timedelta(0))} - {timedelta(0)}
        )
        if aimed and draw(st.integers(0, 3)) < 3:
            return terms, draw(st.sampled_from(aimed))
        return terms, draw(st.timedeltas(min_value=timedelta(0), max_value=horizon))

    return case()
