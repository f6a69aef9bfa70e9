"""What every area of the facade shares: the wired parts and the visibility look-ups (R11).

Visibility comes before roles: an order or customer the actor may not see
is "not found", exactly as if it did not exist.
"""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates import Licence, Order, Tenant
from ledger.application.unit_of_work import UnitOfWork
from ledger.errors import CustomerNotFound, OrderNotFound
from ledger.faults import reading
from ledger.keys import KeyVault
from ledger.policies import access
from ledger.policies.cancellation import CancellationPolicy
from ledger.projections.sql import Params, Row
from ledger.projections.updater import ViewUpdater
from ledger.projections.views import LedgerViews
from ledger.values import Actor

__all__ = ["LedgerCore"]


class LedgerCore:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        views: LedgerViews,
        vault: KeyVault,
        policy: CancellationPolicy,
    ) -> None:
        self._uow = uow
        self._views = views
        self._vault = vault
        self._policy = policy
        self._updater = ViewUpdater(uow.events, views)

    def _query(self, template: str, params: Params) -> list[Row]:
        return reading(lambda: self._views.query(template, params))

    def _catch_up(self) -> int:
        """Bring the views up to date (the updater retries conflicts and dropped connections)."""
        return self._updater.catch_up()

    def _visible_order(self, actor: Actor, order_id: UUID) -> Order:
        order = self._uow.get(order_id, Order)
        if order is None or not access.can_see(actor, order.partner_id, order.tenant_id):
            raise OrderNotFound(f"order {order_id} not found")
        return order

    def _visible_licence(self, actor: Actor, order_id: UUID) -> Licence:
        """The order's licence, seen through the order's visibility (it carries the same ids)."""
        licence = self._uow.get(Licence.id_for(order_id), Licence)
        if licence is None or not access.can_see(actor, licence.partner_id, licence.tenant_id):
            raise OrderNotFound(f"order {order_id} not found")
        return licence

    def _licence_of(self, order: Order) -> Licence:
        licence = self._uow.get(Licence.id_for(order.id), Licence)
        assert licence is not None, "every order is saved together with its licence"
        return licence

    def _visible_tenant(self, actor: Actor, tenant_id: UUID) -> Tenant:
        """The tenant, if the actor's partner registered it (or it is the actor's own)."""
        tenant = self._uow.get(Tenant.id_for(tenant_id), Tenant)
        if tenant is None or not access.can_see_tenant(actor, tenant.registrations, tenant_id):
            raise CustomerNotFound(f"customer {tenant_id} not found")
        return tenant
