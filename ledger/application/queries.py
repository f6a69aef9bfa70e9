"""The views: customers, the software list, the activity log (R5) and the monthly credits.

Each query reads the views through `_views_ready()`, which brings them up to date
with the event log first, so it reflects every command this `Ledger` completed
(read-your-writes). Reads of
the activity log and of the credits are logged with the actor (``ledger.read``),
refused ones too: they are what an auditor asks "who read this?" about.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from ledger import _validate
from ledger.application import inputs
from ledger.application.core import LedgerCore
from ledger.faults import guarded
from ledger.policies import access
from ledger.projections import activity_log, customer_list, monthly_credits, software_list
from ledger.values import ActivityEntry, Actor, CreditStatement, Customer, SoftwareItem

__all__ = ["ViewQueries"]


class ViewQueries(LedgerCore):
    @guarded
    def customers(self, actor: Actor) -> list[Customer]:
        """The customers the actor's partner registered, with its details, oldest first (R11).

        For any partner user; a tenant registered by several partners appears
        to each with the details that partner gave.
        """
        actor = inputs.actor(actor)
        access.LIST_CUSTOMERS.require(actor)
        assert actor.partner_id is not None
        return customer_list.for_partner(self._views_ready(), actor.partner_id)

    @guarded
    def software(self, actor: Actor, tenant_id: UUID) -> list[SoftwareItem]:
        """The customer's software list, cancelled and refunded orders included.

        A partner user sees its own partner's orders for the tenant; the
        tenant's customer global admin sees the orders of every partner
        that registered it (R11).
        """
        actor = inputs.actor(actor)
        tenant_id = _validate.uuid("tenant_id", tenant_id)
        self._visible_tenant(actor, tenant_id)
        access.SOFTWARE.require(actor)
        query = self._views_ready()
        # A partner sees its own orders for the tenant; the tenant's users see every partner's.
        return software_list.for_tenant(query, tenant_id, actor.partner_id)

    @guarded
    def activity_log(
        self,
        actor: Actor,
        start: date | datetime,
        end: date | datetime,
        *,
        tenant_id: UUID | None = None,
        order_id: UUID | None = None,
        user: str | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[ActivityEntry]:
        """R5: key views, downloads and link copies on the partner's orders, oldest first.

        Dates are whole UTC days, both ends inclusive; aware datetimes are the
        exact range ``[start, end)``. ``limit`` (1..10000) and ``after`` (the
        ``position`` of the previous page's last entry) page through it.
        """
        actor = inputs.actor(actor)
        selection = activity_log.select(
            start,
            end,
            partner_id=actor.partner_id,
            tenant_id=tenant_id,
            order_id=order_id,
            user=user,
            limit=limit,
            after=after,
        )
        with self._read(
            "activity_log",
            actor,
            start=str(start),
            end=str(end),
            filter_tenant_id=None if tenant_id is None else str(tenant_id),
            filter_order_id=None if order_id is None else str(order_id),
            filter_user=user,
            limit=limit,
            after=after,
        ) as context:
            access.ACTIVITY_LOG.require(actor)
            assert selection.partner_id is not None
            entries = activity_log.entries(self._views_ready(), selection)
            context["rows"] = len(entries)
            return entries

    @guarded
    def monthly_credits(self, actor: Actor, month: str) -> CreditStatement:
        """Credits issued in a UTC month (``"YYYY-MM"``), with totals per currency."""
        actor = inputs.actor(actor)
        month = _validate.month("month", month)
        with self._read("monthly_credits", actor, month=month) as context:
            access.MONTHLY_CREDITS.require(actor)
            assert actor.partner_id is not None
            query = self._views_ready()
            statement = monthly_credits.for_month(query, actor.partner_id, month)
            context["rows"] = len(statement.lines)
            return statement
