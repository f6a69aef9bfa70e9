"""Refund: a partner's request for a credit past the cancellation window (R10)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import RefundAlreadyResolved
from ledger.money import Money


class Refund(BaseAggregate[UUID]):
    TOPIC = "ledger:Refund"

    # Declared for type checkers only: eventsourcing turns class annotations
    # into __init__ parameters, and the events' apply methods assign these.
    if TYPE_CHECKING:
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        amount: Money
        status: str
        approved_amount: Money | None

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Requested(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Refund.Requested.v1"
        originator_topic: str
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        amount: Money
        reason: str
        contact_name: str
        contact_email: str
        contact_phone: str
        attachments: tuple[str, ...]

        def apply(self, refund: Refund) -> None:
            refund.order_id = self.order_id
            refund.partner_id = self.partner_id
            refund.tenant_id = self.tenant_id
            refund.amount = self.amount
            refund.status = "pending"
            refund.approved_amount = None

    class Approved(Event):
        TOPIC: ClassVar[str] = "ledger:Refund.Approved.v1"
        amount: Money

        def apply(self, refund: Refund) -> None:
            refund.status = "approved"
            refund.approved_amount = self.amount

    class Declined(Event):
        TOPIC: ClassVar[str] = "ledger:Refund.Declined.v1"

        def apply(self, refund: Refund) -> None:
            refund.status = "declined"

    @classmethod
    def request(
        cls,
        *,
        refund_id: UUID,
        order_id: UUID,
        partner_id: str,
        tenant_id: UUID,
        amount: Money,
        reason: str,
        contact_name: str,
        contact_email: str,
        contact_phone: str,
        attachments: tuple[str, ...],
        user: str,
        now: datetime,
    ) -> Refund:
        return cls._create(
            cls.Requested,
            id=refund_id,
            timestamp=now,
            user=user,
            order_id=order_id,
            partner_id=partner_id,
            tenant_id=tenant_id,
            amount=amount,
            reason=reason,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            attachments=attachments,
        )

    def _ensure_pending(self) -> None:
        if self.status != "pending":
            raise RefundAlreadyResolved(f"refund {self.id} was {self.status} before")

    def approve(self, amount: Money, user: str, now: datetime) -> None:
        self._ensure_pending()
        self.trigger_event(self.Approved, timestamp=now, user=user, amount=amount)

    def decline(self, user: str, now: datetime) -> None:
        self._ensure_pending()
        self.trigger_event(self.Declined, timestamp=now, user=user)
