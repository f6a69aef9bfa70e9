"""Order: one purchase of one product for one customer, its cancellation and its credits.

Public methods decide (and raise); the nested events' ``apply`` only assigns,
so replaying history can never fail on a rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import (
    AlreadyCancelled,
    CancellationWindowClosed,
    ConfigurationError,
    NotCancellable,
)
from ledger.money import Money
from ledger.policies.cancellation import CancellationPolicy, days_left
from ledger.values import CancellationStatus, Product

CreditReason = Literal["cancellation", "refund"]


class Order(BaseAggregate[UUID]):
    TOPIC = "ledger:Order"

    # Declared for type checkers only: eventsourcing turns class annotations
    # into __init__ parameters, and the events' apply methods assign these.
    if TYPE_CHECKING:
        partner_id: str
        tenant_id: UUID
        market: str
        product: Product
        quantity: int
        unit_price: Money
        total: Money
        tax_inclusive: bool
        purchased_at: datetime
        cancellable_until: datetime | None
        request_fingerprint: str
        cancelled_at: datetime | None
        credited: Money

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Purchased(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Order.Purchased.v1"
        originator_topic: str
        partner_id: str
        tenant_id: UUID
        market: str
        product: Product
        quantity: int
        unit_price: Money
        total: Money
        tax_inclusive: bool
        cancellable_until: datetime | None
        idempotency_key: str | None
        request_fingerprint: str

        def apply(self, order: Order) -> None:
            order.partner_id = self.partner_id
            order.tenant_id = self.tenant_id
            order.market = self.market
            order.product = self.product
            order.quantity = self.quantity
            order.unit_price = self.unit_price
            order.total = self.total
            order.tax_inclusive = self.tax_inclusive
            order.purchased_at = self.timestamp
            order.cancellable_until = self.cancellable_until
            order.request_fingerprint = self.request_fingerprint
            order.cancelled_at = None
            order.credited = Money.zero(self.total.currency)

    class Cancelled(Event):
        TOPIC: ClassVar[str] = "ledger:Order.Cancelled.v1"

        def apply(self, order: Order) -> None:
            order.cancelled_at = self.timestamp

    class CreditIssued(Event):
        TOPIC: ClassVar[str] = "ledger:Order.CreditIssued.v1"
        partner_id: str
        tenant_id: UUID
        amount: Money
        reason: CreditReason
        refund_id: UUID | None

        def apply(self, order: Order) -> None:
            order.credited = order.credited + self.amount

    @classmethod
    def purchase(
        cls,
        *,
        order_id: UUID,
        partner_id: str,
        tenant_id: UUID,
        market: str,
        product: Product,
        quantity: int,
        unit_price: Money,
        tax_inclusive: bool,
        cancellable_until: datetime | None,
        idempotency_key: str | None,
        request_fingerprint: str,
        user: str,
        now: datetime,
    ) -> Order:
        return cls._create(
            cls.Purchased,
            id=order_id,
            timestamp=now,
            user=user,
            partner_id=partner_id,
            tenant_id=tenant_id,
            market=market,
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            total=unit_price * quantity,
            tax_inclusive=tax_inclusive,
            cancellable_until=cancellable_until,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
        )

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def refundable(self) -> Money:
        """What may still be credited: the total less every credit issued so far."""
        return self.total - self.credited

    @property
    def is_fully_refunded(self) -> bool:
        return not self.is_cancelled and self.refundable == Money.zero(self.total.currency)

    def cancellation_status(self, now: datetime) -> CancellationStatus:
        """R9; ``reason``: ``cancelled``, ``refunded``, ``not_cancellable``, ``window_closed``."""
        deadline = self.cancellable_until
        reason: str | None
        if self.is_cancelled:
            reason = "cancelled"
        elif self.is_fully_refunded:
            reason = "refunded"
        elif deadline is None:
            reason = "not_cancellable"
        elif now >= deadline:
            reason = "window_closed"
        else:
            return CancellationStatus(
                cancellable=True,
                days_left=days_left(deadline, now),
                cancellable_until=deadline,
                reason=None,
                refund_request_possible=False,
            )
        return CancellationStatus(
            cancellable=False,
            days_left=0,
            cancellable_until=deadline,
            reason=reason,
            refund_request_possible=reason == "window_closed",
        )

    def cancel(self, user: str, now: datetime, policy: CancellationPolicy) -> Money:
        """R6–R8: refuse, or record Cancelled and the policy's credit. Returns the credit."""
        status = self.cancellation_status(now)
        if status.reason == "cancelled":
            raise AlreadyCancelled(f"order {self.id} was cancelled at {self.cancelled_at}")
        if status.reason == "not_cancellable":
            raise NotCancellable(f"{self.product.kind.value} orders cannot be cancelled")
        if not status.cancellable:
            raise CancellationWindowClosed(
                f"order {self.id} could be cancelled until {self.cancellable_until}"
            )
        credit = policy.credit(
            self.product.kind, self.total, self.product.term_days, self.purchased_at, now
        )
        # A custom policy is user code: its credit must still fit the order (R8).
        if not isinstance(credit, Money) or credit.currency != self.total.currency:
            raise ConfigurationError(f"the cancellation policy returned {credit!r}, not Money")
        if not Money.zero(credit.currency) <= credit <= self.refundable:
            raise ConfigurationError(
                f"the cancellation policy credited {credit} on an order of {self.total}"
            )
        self.trigger_event(self.Cancelled, timestamp=now, user=user)
        self.issue_credit(credit, reason="cancellation", refund_id=None, user=user, now=now)
        return credit

    def issue_credit(
        self,
        amount: Money,
        *,
        reason: CreditReason,
        refund_id: UUID | None,
        user: str,
        now: datetime,
    ) -> None:
        self.trigger_event(
            self.CreditIssued,
            timestamp=now,
            user=user,
            partner_id=self.partner_id,
            tenant_id=self.tenant_id,
            amount=amount,
            reason=reason,
            refund_id=refund_id,
        )
