"""Refund: a partner's request for a credit past the cancellation window (R10).

The refund owns its ceilings: a request is in the order's currency and
never above the order's total or what is left to refund, and only for an
order whose window has closed; an approval is never above what was
requested or what is left. Approving credits the order, and a refund that
brings the credits to the whole total revokes the licence: that decision
spans three aggregates and lives in `ledger.aggregates.decisions`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import InvalidInput, RefundAlreadyResolved, RefundNotPossible
from ledger.money import Money, stored_money
from ledger.values import RefundStatus

if TYPE_CHECKING:
    from ledger.aggregates.order import Order

__all__ = ["Refund"]


def _require_within(amount: Money, ceiling: Money, what: str) -> None:
    """In the ceiling's currency and never above it; else ``InvalidInput("amount")``."""
    if amount.currency != ceiling.currency:
        raise InvalidInput("amount", f"must be in the order's currency {ceiling.currency}")
    if amount > ceiling:
        raise InvalidInput("amount", f"exceeds {what} ({ceiling})")


def _flatten_money_v1(state: dict[str, Any]) -> None:
    money = state.pop("amount")
    state["amount"], state["currency"] = money["amount"], money["currency"]


class Refund(BaseAggregate[UUID]):
    TOPIC = "ledger:Refund"

    # Declared for type checkers only: the events' apply methods assign these.
    if TYPE_CHECKING:
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        amount: Money
        status: RefundStatus
        approved_amount: Money | None

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Requested(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Refund.Requested.v1"
        class_version: ClassVar[int] = 2
        originator_topic: str
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        amount: Decimal
        currency: str
        reason: str
        contact_name: str
        contact_email: str
        contact_phone: str
        attachments: tuple[str, ...]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _flatten_money_v1(state)

        def apply(self, refund: Refund) -> None:
            refund.order_id = self.order_id
            refund.partner_id = self.partner_id
            refund.tenant_id = self.tenant_id
            refund.amount = stored_money(self.amount, self.currency)
            refund.status = "pending"
            refund.approved_amount = None

    class Approved(Event):
        TOPIC: ClassVar[str] = "ledger:Refund.Approved.v1"
        class_version: ClassVar[int] = 2
        amount: Decimal
        currency: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _flatten_money_v1(state)

        def apply(self, refund: Refund) -> None:
            refund.status = "approved"
            refund.approved_amount = stored_money(self.amount, self.currency)

    class Declined(Event):
        TOPIC: ClassVar[str] = "ledger:Refund.Declined.v1"

        def apply(self, refund: Refund) -> None:
            refund.status = "declined"

    @classmethod
    def request(
        cls,
        *,
        refund_id: UUID,
        order: Order,
        amount: Money,
        reason: str,
        contact: tuple[str, str, str],
        attachments: tuple[str, ...],
        user: str,
        now: datetime,
    ) -> Refund:
        """R10: a request for ``amount`` of an order whose cancellation window has closed.

        ``contact``: the name, email address and phone number of whom support answers.
        """
        contact_name, contact_email, contact_phone = contact
        _require_within(amount, order.total, "the order total")
        status = order.cancellation_status(now)
        if not status.refund_request_possible:
            raise RefundNotPossible(
                f"a refund needs a closed window; the order is {status.reason or 'cancellable'}"
            )
        _require_within(amount, order.refundable, "what is left to refund")
        return cls._create(
            cls.Requested,
            id=refund_id,
            timestamp=now,
            user=user,
            order_id=order.id,
            partner_id=order.partner_id,
            tenant_id=order.tenant_id,
            amount=amount.amount,
            currency=amount.currency,
            reason=reason,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            attachments=attachments,
        )

    def _ensure_pending(self) -> None:
        if self.status != "pending":
            raise RefundAlreadyResolved(f"refund {self.id} was {self.status} before")

    def approve(self, left: Money, amount: Money | None, user: str, now: datetime) -> Money:
        """Approve ``amount`` (None: as requested), never above the request or ``left``
        (what the order has left to refund); the credit is `decisions.approve_refund`'s."""
        approved = self.amount if amount is None else amount
        _require_within(approved, self.amount, "the requested amount")
        _require_within(approved, left, "what is left to refund")
        self._ensure_pending()
        self.trigger_event(
            self.Approved,
            timestamp=now,
            user=user,
            amount=approved.amount,
            currency=approved.currency,
        )
        return approved

    def decline(self, user: str, now: datetime) -> None:
        self._ensure_pending()
        self.trigger_event(self.Declined, timestamp=now, user=user)
