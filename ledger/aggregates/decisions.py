"""Decisions that change more than one aggregate, each in one function.

Each aggregate decides only about itself; what buying, cancelling or
refunding means for the order, its licence and a refund together is
decided here, so no aggregate reaches into another (no order ↔ licence
circle). The facade loads, calls one of these, and saves everything they
changed in one write.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger.aggregates.licence import Licence
from ledger.aggregates.order import Order, OrderRequest
from ledger.aggregates.refund import Refund
from ledger.aggregates.tenant import Tenant
from ledger.errors import InvalidInput
from ledger.money import Money
from ledger.policies.calls import GoverningPolicy, PolicyBook
from ledger.values import Cancellation, Customer

__all__ = ["approve_refund", "cancel_order", "place_order", "require_order_tenant"]


def place_order(
    *,
    order_id: UUID,
    request: OrderRequest,
    partner_id: str,
    customer: Customer,
    policy: GoverningPolicy,
    key_ciphertext: str,
    user: str,
    now: datetime,
) -> tuple[Order, Licence]:
    """R1–R3, R6: the order (its rules decided by `Order.purchase`) and the licence it brings."""
    order = Order.purchase(
        order_id=order_id,
        request=request,
        partner_id=partner_id,
        customer=customer,
        policy=policy,
        user=user,
        now=now,
    )
    licence = Licence.issue(
        order_id=order_id,
        partner_id=partner_id,
        tenant_id=order.tenant_id,
        product=request.product,
        activation=request.activation,
        key_ciphertext=key_ciphertext,
        user=user,
        now=now,
    )
    return order, licence


def cancel_order(
    order: Order, licence: Licence, policies: PolicyBook, user: str, now: datetime
) -> Cancellation:
    """R6–R8: the order is cancelled and credited, and its key revoked, in one decision (R7)."""
    cancellation = order.cancel(policies, user, now)
    licence.revoke("cancelled", user, now)
    return cancellation


def approve_refund(
    refund: Refund,
    order: Order,
    licence: Licence,
    amount: Money | None,
    user: str,
    now: datetime,
) -> Money:
    """R10: approve, credit the order; a refund of what was left revokes the key ("refunded")."""
    approved = refund.approve(order.refundable, amount, user, now)
    order.issue_credit(approved, reason="refund", refund_id=refund.id, user=user, now=now)
    if order.is_fully_refunded:
        licence.revoke("refunded", user, now)
    return approved


def require_order_tenant(
    order: Order, tenant: Tenant | None, tenant_id: UUID | None, domain: str | None
) -> None:
    """R10: a refund request that names a tenant (by id, or by the domain the order's
    partner registered it under) must name the order's; another is bad input."""
    if tenant_id is not None and tenant_id != order.tenant_id:
        raise InvalidInput("tenant_id", "is not the tenant of this order")
    if domain is not None:
        known = None if tenant is None else tenant.registrations.get(order.partner_id)
        if known is None or known.domain != domain:
            raise InvalidInput("domain", "is not the domain of this order's tenant")
