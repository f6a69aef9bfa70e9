"""Given/When/Then for the aggregates alone: no store, no facade, no clock.

::

    given = bought(ProductKind.PERPETUAL)                 # Order.Purchased, Licence.Issued
    outcome = given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0 + WINDOW))
    # DEFAULT: the policies the decision may use (R20), here the built-in default only
    outcome.then_raises(CancellationWindowClosed)          # ... and nothing recorded

*Given* is a history made by the domain itself (so it holds the events the
ledger would store); *when* calls one decision; *then* names the events it
recorded, in order: the aggregates' pending events, plus the access record
a licence hands back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from ledger import CancellationPolicy, Customer, Money, ProductKind
from ledger.aggregates import Licence, Order, Refund
from ledger.aggregates.base import LedgerEvent
from ledger.aggregates.decisions import place_order
from ledger.aggregates.order import OrderRequest
from ledger.errors import LedgerError
from ledger.policies.calls import PolicyBook
from tests.support import product

__all__ = ["DEFAULT", "T0", "Given", "Outcome", "bought", "event_names", "policies"]

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEFAULT = PolicyBook(CancellationPolicy.default())


def policies(policy: CancellationPolicy) -> PolicyBook:
    """The policies of a ledger opened with ``cancellation_policy=policy``."""
    return PolicyBook(policy)


R = TypeVar("R")


def event_names(events: list[LedgerEvent]) -> list[str]:
    """``["Order.Cancelled", ...]``: the event classes' qualified names."""
    return [type(e).__qualname__ for e in events]


@dataclass
class Given:
    """An order and its licence (and refunds, once requested) with their history."""

    order: Order
    licence: Licence
    refunds: dict[str, Refund] = field(default_factory=dict)
    history: list[LedgerEvent] = field(default_factory=list)

    def _pending(self) -> list[LedgerEvent]:
        aggregates: list[Any] = [*self.refunds.values(), self.order, self.licence]
        return [event for aggregate in aggregates for event in aggregate.collect_events()]

    def when(self, decide: Callable[[Given], R]) -> Outcome[R]:
        """Run one decision; whatever it recorded becomes part of the history."""
        try:
            result = decide(self)
        except LedgerError as error:
            recorded = self._pending()
            self.history.extend(recorded)
            return Outcome(None, error, recorded)
        recorded = self._pending()
        if isinstance(result, LedgerEvent):  # an access record is handed back, not pending
            recorded.append(result)
        self.history.extend(recorded)
        return Outcome(result, None, recorded)

    def request_refund(self, alias: str, amount: Money, now: datetime) -> Given:
        self.refunds[alias] = Refund.request(
            refund_id=uuid4(),
            order=self.order,
            amount=amount,
            reason="unused",
            contact=("Pat", "pat@p1.example", "+31 20 555 0100"),
            attachments=(),
            user="ann",
            now=now,
        )
        self.history.extend(self._pending())
        return self


@dataclass(frozen=True)
class Outcome(Generic[R]):
    result: R | None
    error: LedgerError | None
    recorded: list[LedgerEvent]

    def then(self, *names: str) -> Outcome[R]:
        """The decision succeeded and recorded exactly these events, in this order."""
        assert self.error is None, f"expected {list(names)}, but it raised {self.error!r}"
        assert event_names(self.recorded) == list(names)
        return self

    def then_raises(self, error: type[LedgerError]) -> LedgerError:
        """The decision raised exactly ``error`` and recorded nothing."""
        assert type(self.error) is error, f"expected {error.__name__}, got {self.error!r}"
        assert self.recorded == [], f"{error.__name__} but recorded {event_names(self.recorded)}"
        return self.error

    @property
    def value(self) -> R:
        assert self.error is None, f"it raised {self.error!r}"
        assert self.result is not None
        return self.result


def bought(
    kind: ProductKind = ProductKind.PERPETUAL,
    term_days: int | None = None,
    *,
    market: str = "NL",
    quantity: int = 3,
    unit_price: Money | None = None,
    policy: CancellationPolicy | None = None,
    at: datetime = T0,
    tenant_id: UUID | None = None,
) -> Given:
    """Given: an order bought at ``at`` (3 × 10.00 EUR by default) with its licence."""
    item = product(kind, term_days)
    tenant = tenant_id or uuid4()
    request = OrderRequest(tenant, item, quantity, unit_price or Money("10.00", "EUR"))
    order, licence = place_order(
        order_id=uuid4(),
        request=request,
        partner_id="P1",
        customer=Customer(
            tenant_id=tenant, domain="contoso.example", name="Contoso", market=market
        ),
        policy=(DEFAULT if policy is None else policies(policy)).current,
        key_ciphertext="sealed",
        user="ann",
        now=at,
    )
    history = [*order.collect_events(), *licence.collect_events()]
    return Given(order, licence, history=history)
