"""What-if (SPEC §10): the real history replayed under a candidate cancellation policy.

For every order purchased in the range, the candidate is asked what it would
have fixed as the deadline and, for an order that was cancelled, whether that
cancellation would still have been allowed and what it would have credited.
Nothing is written: the order events are read from the store a batch at a
time, each checked against its seal (R18) and decoded, and only what the
answer needs is kept per order (its terms until it is cancelled, then one
row). The candidate may credit up to the order's total: a refund needs a
closed window (R10), so none is ever credited before a cancellation.

Only the order's own events are read (`ORDER_TOPICS`), so a replay costs a
fraction of a rebuild. The candidate's answers are checked as the ledger
checks a policy's (`ledger.policies.calls`): one it could not stand behind
is a `ConfigurationError` naming the policy and the order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from ledger import _validate
from ledger._json import JSONReady, json_value
from ledger.aggregates.order import Order
from ledger.errors import InvalidInput
from ledger.eventstore import EventStoreApplication
from ledger.money import Money, stored_money
from ledger.policies import access
from ledger.policies.calls import GoverningPolicy
from ledger.projections.activity_log import period
from ledger.projections.replay import Progress, notifications
from ledger.values import Actor, OrderTerms, Product

__all__ = ["ORDER_TOPICS", "WhatIfChange", "WhatIfReport", "WhatIfRow", "WhatIfTotals", "what_if"]

WhatIfChange = Literal["same", "credit_changed", "deadline_changed", "would_be_refused"]
CHANGES: tuple[WhatIfChange, ...] = (
    "same",
    "credit_changed",
    "deadline_changed",
    "would_be_refused",
)
ORDER_TOPICS = (Order.Purchased.TOPIC, Order.Cancelled.TOPIC, Order.CreditIssued.TOPIC)


@dataclass(frozen=True, slots=True)
class WhatIfRow(JSONReady):
    """One order purchased in the range: what happened, and what the candidate would do.

    ``credit`` is the credit its cancellation issued (None: not cancelled);
    ``candidate_credit`` what the candidate would have credited at the same
    instant (None: not cancelled, or the candidate would have refused).
    ``change`` is the first that applies of ``would_be_refused`` (cancelled,
    but at or past the candidate's deadline), ``credit_changed``,
    ``deadline_changed`` and ``same``.
    """

    order_id: UUID
    tenant_id: UUID
    product_id: str
    purchased_at: datetime
    deadline: datetime | None
    candidate_deadline: datetime | None
    cancelled_at: datetime | None
    credit: Money | None
    candidate_credit: Money | None
    change: WhatIfChange


@dataclass(frozen=True, slots=True)
class WhatIfTotals(JSONReady):
    """Cancellation credits in one currency: issued, under the candidate, and the change."""

    currency: str
    actual: Money
    candidate: Money
    difference: Money


@dataclass(frozen=True)
class WhatIfReport(JSONReady):
    """`Audit.what_if`'s answer: a row per order purchased in ``[start, end)``, and totals
    per currency (a refused or uncancelled order counts as no credit)."""

    policy_id: str
    start: datetime
    end: datetime
    position: int
    rows: tuple[WhatIfRow, ...]
    totals: dict[str, WhatIfTotals] = field(default_factory=dict)

    @property
    def changes(self) -> dict[str, int]:
        """How many rows have each ``change``."""
        counted = dict.fromkeys(
            ("same", "credit_changed", "deadline_changed", "would_be_refused"), 0
        )
        for row in self.rows:
            counted[row.change] += 1
        return counted

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "start": json_value(self.start),
            "end": json_value(self.end),
            "position": self.position,
            "changes": self.changes,
            "totals": {currency: totals.to_dict() for currency, totals in self.totals.items()},
            "rows": [row.to_dict() for row in self.rows],
        }


class _Order:
    """What one order needs kept between its purchase and the end of the replay: the row's
    fields, and its terms until the candidate has been asked about its cancellation."""

    __slots__ = (
        "cancelled_at",
        "candidate_credit",
        "candidate_deadline",
        "credit",
        "deadline",
        "order_id",
        "product_id",
        "purchased_at",
        "tenant_id",
        "terms",
    )

    def __init__(self, event: Order.Purchased, terms: OrderTerms, deadline: datetime | None):
        self.order_id: UUID = event.originator_id
        self.tenant_id = event.tenant_id
        self.product_id = terms.product.product_id
        self.purchased_at = terms.purchased_at
        self.deadline = event.cancellable_until
        self.terms: OrderTerms | None = terms
        self.candidate_deadline = deadline
        self.cancelled_at: datetime | None = None
        self.credit: Money | None = None
        self.candidate_credit: Money | None = None

    def row(self) -> WhatIfRow:
        change: WhatIfChange = "same"
        if self.cancelled_at is not None and (
            self.candidate_deadline is None or self.cancelled_at >= self.candidate_deadline
        ):
            change = "would_be_refused"
        elif self.credit != self.candidate_credit:
            change = "credit_changed"
        elif self.deadline != self.candidate_deadline:
            change = "deadline_changed"
        return WhatIfRow(
            order_id=self.order_id,
            tenant_id=self.tenant_id,
            product_id=self.product_id,
            purchased_at=self.purchased_at,
            deadline=self.deadline,
            candidate_deadline=self.candidate_deadline,
            cancelled_at=self.cancelled_at,
            credit=self.credit,
            candidate_credit=self.candidate_credit,
            change=change,
        )


class _Terms:
    """`OrderTerms` of each purchase, sharing the `Product` and `Money` values that repeat
    (a catalogue is small; a replay of 100k orders would otherwise hold 100k copies)."""

    def __init__(self) -> None:
        self._products: dict[tuple[Any, ...], Product] = {}
        self._money: dict[tuple[Any, str], Money] = {}

    def _shared(self, amount: Any, currency: str) -> Money:
        key = (amount, currency)
        money = self._money.get(key)
        if money is None:
            money = self._money[key] = stored_money(amount, currency)
        return money

    def of(self, event: Order.Purchased) -> OrderTerms:
        key = (
            event.product_id,
            event.sku_id,
            event.title,
            event.kind,
            event.term_days,
            event.versions,
            event.languages,
            event.bitness,
        )
        product = self._products.get(key)
        if product is None:
            product = self._products[key] = event.product
        return OrderTerms(
            product=product,
            market=event.market,
            quantity=event.quantity,
            unit_price=self._shared(event.unit_price, event.currency),
            total=self._shared(event.total, event.currency),
            tax_inclusive=event.tax_inclusive,
            purchased_at=event.timestamp,
        )


def _batches(events: EventStoreApplication) -> Iterator[list[tuple[int, Any]]]:
    """The order events a batch at a time, each checked against its seal and decoded (R18)."""
    mapper = events.mapper
    for batch in notifications(events, topics=ORDER_TOPICS):
        yield [(row.id, mapper.to_domain_event(row)) for row in batch]


def what_if(
    events: EventStoreApplication,
    actor: Actor,
    policy: object,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    progress: Progress | None = None,
) -> WhatIfReport:
    """`Audit.what_if`: every check first, then one read-only pass over the order events."""
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", f"must be an Actor, got {type(actor).__name__}")
    access.WHAT_IF.require(actor)
    candidate = GoverningPolicy(policy, "policy")
    first, last = period(start, end)
    _validate.progress("progress", progress)
    own_partner = None if actor.sees_every_partner else actor.partner_id
    total = events.recorder.max_notification_id() or 0
    orders: dict[UUID, _Order] = {}
    terms = _Terms()
    for batch in _batches(events):
        for _, event in batch:
            if isinstance(event, Order.Purchased):
                visible = own_partner is None or event.partner_id == own_partner
                if visible and first <= event.timestamp < last:
                    order_terms = terms.of(event)
                    deadline = candidate.deadline(order_terms, event.originator_id)
                    orders[event.originator_id] = _Order(event, order_terms, deadline)
                continue
            order = orders.get(event.originator_id)
            if order is None or order.terms is None:
                continue  # not in the range, or its cancellation was replayed already
            if isinstance(event, Order.Cancelled):
                order.cancelled_at = event.timestamp
            elif isinstance(event, Order.CreditIssued) and event.reason == "cancellation":
                _cancelled(candidate, order, order.terms, event)
        if progress is not None:
            progress(batch[-1][0], max(total, batch[-1][0]))
    rows = tuple(order.row() for order in orders.values())
    return WhatIfReport(
        policy_id=candidate.policy_id,
        start=first,
        end=last,
        position=total,
        rows=rows,
        totals=_totals(rows),
    )


def _cancelled(
    candidate: GoverningPolicy, order: _Order, terms: OrderTerms, credit: Order.CreditIssued
) -> None:
    """The cancellation's credit, and the candidate's at the same instant (if it allows it)."""
    at = order.cancelled_at or credit.timestamp
    order.credit = credit.money
    deadline = order.candidate_deadline
    if deadline is not None and at < deadline:
        order.candidate_credit = candidate.credit(terms, at, terms.total, order.order_id)
    order.terms = None  # nothing more to ask the candidate: let the terms go


def _totals(rows: tuple[WhatIfRow, ...]) -> dict[str, WhatIfTotals]:
    sums: dict[str, tuple[Money, Money]] = {}
    for row in rows:
        if row.credit is None:
            continue  # not cancelled: no credit, and so no candidate credit either
        currency = row.credit.currency
        zero = Money.zero(currency)
        actual, candidate = sums.get(currency, (zero, zero))
        sums[currency] = (actual + row.credit, candidate + (row.candidate_credit or zero))
    return {
        currency: WhatIfTotals(currency, actual, candidate, candidate - actual)
        for currency, (actual, candidate) in sorted(sums.items())
    }
