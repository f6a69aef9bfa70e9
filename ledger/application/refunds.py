"""Refund requests past the window, and support's answer to them (R10)."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger import _validate
from ledger.aggregates import Order, Refund, Tenant
from ledger.aggregates.decisions import approve_refund, require_order_tenant
from ledger.application import inputs
from ledger.application.commands import Call, Check, command, read
from ledger.application.core import ORDER, REFUND, LedgerCore
from ledger.money import Money
from ledger.policies import access
from ledger.projections import refund_requests
from ledger.values import RefundRequest

__all__ = ["RefundCommands"]

_REQUEST_CHECKS: dict[str, Check] = {
    "order_id": _validate.uuid,
    "reason": _validate.text,
    "amount": inputs.positive_money,
    "contact_name": _validate.text,
    "contact_email": inputs.email,
    "contact_phone": inputs.phone,
    "attachments": inputs.texts,
    "tenant_id": inputs.optional_uuid,
    "domain": _validate.optional_text,
}
_RESOLVE_CHECKS: dict[str, Check] = {
    "refund_id": _validate.uuid,
    "approve": inputs.boolean,
    "amount": inputs.optional_positive_money,
}


class RefundCommands(LedgerCore):
    @command(access.REQUEST_REFUND, sees=ORDER, checks=_REQUEST_CHECKS, logged=("order_id",))
    def request_refund(
        self,
        call: Call[Order],
        order_id: UUID,
        *,
        reason: str,
        amount: Money,
        contact_name: str,
        contact_email: str,
        contact_phone: str,
        attachments: tuple[str, ...] = (),
        tenant_id: UUID | None = None,
        domain: str | None = None,
    ) -> UUID:
        """File a refund request for an order past its window; returns the request id.

        ``tenant_id`` or ``domain``, when given, must name the order's tenant.
        """
        order = call.seen
        require_order_tenant(order, self._tenant_of(order, domain), tenant_id, domain)
        refund = Refund.request(
            refund_id=uuid4(),
            order=order,
            amount=amount,
            reason=reason,
            contact=(contact_name, contact_email, contact_phone),
            attachments=attachments,
            user=call.user,
            now=call.now(),
        )
        self._uow.save(refund)
        call.context["refund_id"] = str(refund.id)
        return refund.id

    def _tenant_of(self, order: Order, domain: str | None) -> Tenant | None:
        """The order's tenant, when a domain must be checked against its registration."""
        return None if domain is None else self._uow.get(Tenant.id_for(order.tenant_id), Tenant)

    @command(access.RESOLVE_REFUND, sees=REFUND, checks=_RESOLVE_CHECKS, logged=("refund_id",))
    def resolve_refund(
        self, call: Call[Refund], refund_id: UUID, *, approve: bool, amount: Money | None = None
    ) -> RefundRequest:
        """Support approves (``amount`` None: as requested) or declines a refund request."""
        refund = call.seen
        call.context["order_id"] = str(refund.order_id)
        if approve:
            order, licence = self._visible_order_and_licence(call.actor, refund.order_id)
            approve_refund(refund, order, licence, amount, call.user, call.now())
            self._uow.save(refund, order, licence)
        else:
            refund.decline(call.user, call.now())
            self._uow.save(refund)
        resolved = refund_requests.by_id(self._views_ready(), refund_id)
        assert resolved is not None, "the refund was recorded and the views caught up"
        return resolved

    @read(access.LIST_REFUNDS)
    def refunds(self, call: Call[None]) -> list[RefundRequest]:
        """A partner's refund requests (R11: its ADMIN_AGENT, GLOBAL_ADMIN or
        ACCOUNT_ADMIN); support sees every partner's."""
        partner_id = None if call.actor.sees_every_partner else call.actor.partner_id
        requests = refund_requests.listing(self._views_ready(), partner_id)
        call.context["rows"] = len(requests)
        return requests
