"""Refund requests past the window, and support's answer to them (R10)."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger import _validate
from ledger.aggregates import Order, Refund, Tenant
from ledger.application import inputs
from ledger.application.core import LedgerCore
from ledger.errors import InvalidInput, RefundNotFound
from ledger.faults import guarded
from ledger.money import Money
from ledger.policies import access
from ledger.projections import refund_requests
from ledger.values import Actor, RefundRequest

__all__ = ["RefundCommands"]


class RefundCommands(LedgerCore):
    @guarded
    def request_refund(
        self,
        actor: Actor,
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
        actor = inputs.actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        _validate.text("reason", reason)
        amount = inputs.positive_money("amount", amount)
        _validate.text("contact_name", contact_name)
        inputs.contact(contact_email, contact_phone)
        attachment_names = _validate.tuple_of("attachments", attachments, str)
        if tenant_id is not None:
            tenant_id = _validate.uuid("tenant_id", tenant_id)
        _validate.optional_text("domain", domain)

        uow = self._uow
        with uow.command("request_refund", actor, order_id=str(order_id)) as context:
            order = self._visible_order(actor, order_id)
            access.REQUEST_REFUND.require(actor)
            self._require_same_tenant(order, tenant_id, domain)
            refund_id = uuid4()
            context["refund_id"] = str(refund_id)
            uow.save(
                Refund.request(
                    refund_id=refund_id,
                    order=order,
                    amount=amount,
                    reason=reason,
                    contact_name=contact_name,
                    contact_email=contact_email,
                    contact_phone=contact_phone,
                    attachments=attachment_names,
                    user=actor.user,
                    now=uow.now(),
                )
            )
            return refund_id

    def _require_same_tenant(
        self, order: Order, tenant_id: UUID | None, domain: str | None
    ) -> None:
        """R10 names the order's tenant by id or domain; another tenant's is bad input."""
        if tenant_id is not None and tenant_id != order.tenant_id:
            raise InvalidInput("tenant_id", "is not the tenant of this order")
        if domain is not None:
            # The domain as the order's partner registered the tenant.
            tenant = self._uow.get(Tenant.id_for(order.tenant_id), Tenant)
            known = None if tenant is None else tenant.registrations.get(order.partner_id)
            if known is None or known.domain != domain:
                raise InvalidInput("domain", "is not the domain of this order's tenant")

    @guarded
    def resolve_refund(
        self, actor: Actor, refund_id: UUID, *, approve: bool, amount: Money | None = None
    ) -> RefundRequest:
        """Support approves (``amount`` None: as requested) or declines a refund request."""
        actor = inputs.actor(actor)
        refund_id = _validate.uuid("refund_id", refund_id)
        if not isinstance(approve, bool):
            raise InvalidInput("approve", "must be True or False")
        if amount is not None:
            amount = inputs.positive_money("amount", amount)

        uow = self._uow
        with uow.command("resolve_refund", actor, refund_id=str(refund_id)) as context:
            refund = uow.get(refund_id, Refund)
            if refund is None or not access.can_see(actor, refund.partner_id, refund.tenant_id):
                raise RefundNotFound(f"refund request {refund_id} not found")
            access.RESOLVE_REFUND.require(actor)
            context["order_id"] = str(refund.order_id)

            def attempt() -> None:
                current = uow.get(refund_id, Refund)
                assert current is not None
                now = uow.now()
                if not approve:
                    current.decline(actor.user, now)
                    uow.save(current)
                    return
                order = self._visible_order(actor, current.order_id)
                licence = self._licence_of(order)
                current.approve(order, licence, amount, actor.user, now)
                uow.save(current, order, licence)

            uow.retrying(attempt)
        resolved = refund_requests.by_id(self._views_ready(), refund_id)
        assert resolved is not None, "the refund was recorded and the views caught up"
        return resolved

    @guarded
    def refunds(self, actor: Actor) -> list[RefundRequest]:
        """A partner's refund requests (R11: its ADMIN_AGENT, GLOBAL_ADMIN or
        ACCOUNT_ADMIN); support sees every partner's."""
        actor = inputs.actor(actor)
        with self._read("refunds", actor) as context:
            access.LIST_REFUNDS.require(actor)
            requests = refund_requests.listing(
                self._views_ready(), None if actor.is_support else actor.partner_id
            )
            context["rows"] = len(requests)
            return requests
