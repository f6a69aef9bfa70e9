"""Registering customers (tenants) for a partner."""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates import Tenant
from ledger.application import inputs
from ledger.application.commands import Call, command
from ledger.application.core import LedgerCore
from ledger.policies import access
from ledger.values import Customer

__all__ = ["CustomerCommands"]


def _customer(field: str, value: object) -> Customer:
    return inputs.instance(field, value, Customer)


class CustomerCommands(LedgerCore):
    @command(
        access.ADD_CUSTOMER,
        checks={"customer": _customer},
        logged=("tenant_id=customer.tenant_id",),
    )
    def add_customer(self, call: Call[None], customer: Customer) -> UUID:
        """Register a tenant for the actor's partner; returns its tenant id.

        The same details again by the same partner are a no-op; other details
        are `CustomerConflict`. Another partner's registration of the same
        tenant is never mentioned (R11): each partner registers for itself.
        """
        tenant = self._uow.get(Tenant.id_for(customer.tenant_id), Tenant)
        if tenant is None:
            self._uow.save(Tenant.add(call.partner_id, customer, call.user, call.now()))
        elif tenant.register(call.partner_id, customer, call.user, call.now()):
            self._uow.save(tenant)
        return customer.tenant_id
