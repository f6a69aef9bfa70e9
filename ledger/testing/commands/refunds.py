"""Refund requests past the window, and support's answer (R10)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.errors import (
    AccessDenied,
    InvalidInput,
    OrderNotFound,
    RefundAlreadyResolved,
    RefundNotFound,
    RefundNotPossible,
)
from ledger.money import Money
from ledger.testing.commands.base import Command, Context, Expected, Names
from ledger.testing.mismatch import require_equal
from ledger.testing.model import ReferenceModel, is_support, partner_with, sees
from ledger.values import Actor, RefundRequest, Role

__all__ = ["RequestRefund", "ResolveRefund"]


@dataclass(frozen=True)
class RequestRefund(Command):
    actor: Actor
    order: str
    amount: Money
    refund: str
    reason: str = "customer changed plans"
    contact_name: str = "Pat Contact"
    contact_email: str = "pat@partner.example"
    contact_phone: str = "+31 20 555 0100"

    def run(self, context: Context) -> Any:
        refund_id = context.ledger.request_refund(
            self.actor,
            context.order_id(self.order),
            reason=self.reason,
            amount=self.amount,
            contact_name=self.contact_name,
            contact_email=self.contact_email,
            contact_phone=self.contact_phone,
        )
        context.refund_ids[self.refund] = refund_id
        return refund_id

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        order = model.orders.get(context.order_id(self.order))
        if order is None or not sees(self.actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        if not partner_with(self.actor, {Role.ADMIN_AGENT}):
            return AccessDenied
        amount = self.amount
        if amount.currency != order.total.currency or amount > order.total:
            return InvalidInput
        if model.status(order, now).reason != "window_closed":
            return RefundNotPossible
        return InvalidInput if amount > order.refundable else None

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        order = model.orders[context.order_id(self.order)]
        model.refunds[result] = RefundRequest(
            refund_id=result,
            order_id=order.order_id,
            tenant_id=order.tenant_id,
            partner_id=order.partner_id,
            amount=self.amount,
            reason=self.reason,
            contact_name=self.contact_name,
            contact_email=self.contact_email,
            contact_phone=self.contact_phone,
            attachments=(),
            requested_by=self.actor.user,
            requested_at=now,
            status="pending",
            approved_amount=None,
            resolved_by=None,
            resolved_at=None,
        )

    def describe(self, at: datetime, names: Names) -> str:
        return (
            f"{names.actor(self.actor)} requests refund {self.refund} of"
            f" {self.amount} for {self.order}{names.age(self.order, at)}"
        )


@dataclass(frozen=True)
class ResolveRefund(Command):
    actor: Actor
    refund: str
    approve: bool
    amount: Money | None = None

    def run(self, context: Context) -> Any:
        refund_id = context.refund_id(self.refund)
        return context.ledger.resolve_refund(
            self.actor, refund_id, approve=self.approve, amount=self.amount
        )

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        refund = model.refunds.get(context.refund_id(self.refund))
        if refund is None or not sees(self.actor, refund.partner_id, refund.tenant_id):
            return RefundNotFound
        if not is_support(self.actor):
            return AccessDenied
        if self.approve:
            approved = self.amount or refund.amount
            order = model.orders[refund.order_id]
            if approved.currency != refund.amount.currency:
                return InvalidInput
            if approved > refund.amount or approved > order.refundable:
                return InvalidInput
        return None if refund.status == "pending" else RefundAlreadyResolved

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        refund = model.refunds[context.refund_id(self.refund)]
        approved = (self.amount or refund.amount) if self.approve else None
        resolved = replace(
            refund,
            status="approved" if self.approve else "declined",
            approved_amount=approved,
            resolved_by=self.actor.user,
            resolved_at=now,
        )
        require_equal(result, resolved, "resolve_refund")
        model.refunds[refund.refund_id] = resolved
        if approved is not None:
            order = model.orders[refund.order_id]
            model.credit(order, approved, now, "refund")
            if order.refundable.minor_units == 0:
                order.revoked = True

    def describe(self, at: datetime, names: Names) -> str:
        if not self.approve:
            return f"{names.actor(self.actor)} declines {self.refund}"
        part = "as requested" if self.amount is None else f"for {self.amount}"
        return f"{names.actor(self.actor)} approves {self.refund} {part}"

    def orders_named(self, model: ReferenceModel, context: Context) -> set[UUID]:
        refund = model.refunds.get(context.refund_id(self.refund))
        return set() if refund is None else {refund.order_id}
