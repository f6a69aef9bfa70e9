"""Registering customers (tenants) for a partner."""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates import Tenant
from ledger.application import inputs
from ledger.application.core import LedgerCore
from ledger.faults import guarded
from ledger.policies import access
from ledger.values import Actor, Customer

__all__ = ["CustomerCommands"]


class CustomerCommands(LedgerCore):
    @guarded
    def add_customer(self, actor: Actor, customer: Customer) -> UUID:
        """Register a tenant for the actor's partner; returns its tenant id.

        The same details again by the same partner are a no-op; other details
        are `CustomerConflict`. Another partner's registration of the same
        tenant is never mentioned (R11): each partner registers for itself.
        """
        actor = inputs.actor(actor)
        customer = inputs.instance("customer", customer, Customer)
        uow = self._uow
        with uow.command("add_customer", actor, tenant_id=str(customer.tenant_id)):
            access.ADD_CUSTOMER.require(actor)
            assert actor.partner_id is not None
            partner_id = actor.partner_id

            def attempt() -> UUID:
                tenant = uow.get(Tenant.id_for(customer.tenant_id), Tenant)
                if tenant is None:
                    uow.save(Tenant.add(partner_id, customer, actor.user, uow.now()))
                elif tenant.register(partner_id, customer, actor.user, uow.now()):
                    uow.save(tenant)
                return customer.tenant_id

            return uow.retrying(attempt)
