"""The views: customers, the software list, the activity log (R5) and the monthly credits.

Each query reads the views through `_views_ready()`, which brings them up to date
with the event log first, so it reflects every command this `Ledger` completed
(read-your-writes). Reads of the activity log and of the credits are logged with
the actor (``ledger.read``), refused ones too: they are what an auditor asks
"who read this?" about.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Unpack
from uuid import UUID

from ledger import _validate
from ledger.aggregates import Tenant
from ledger.application.commands import Call, query, read
from ledger.application.core import TENANT, LedgerCore
from ledger.policies import access
from ledger.projections import activity_log, customer_list, monthly_credits, software_list
from ledger.values import ActivityEntry, ActivityFilter, CreditStatement, Customer, SoftwareItem

__all__ = ["ViewQueries"]

#: The activity log's ``ledger.read`` line: the range asked for and each filter given.
_ACTIVITY_LOGGED = (
    "start",
    "end",
    "filter_tenant_id=tenant_id",
    "filter_order_id=order_id",
    "filter_user=user",
    "limit",
    "after",
)


class ViewQueries(LedgerCore):
    @query(access.LIST_CUSTOMERS)
    def customers(self, call: Call[None]) -> list[Customer]:
        """The customers the actor's partner registered, with its details, oldest first (R11).

        For any partner user; a tenant registered by several partners appears
        to each with the details that partner gave.
        """
        return customer_list.for_partner(self._views_ready(), call.partner_id)

    @query(access.SOFTWARE, sees=TENANT, checks={"tenant_id": _validate.uuid})
    def software(self, call: Call[Tenant], tenant_id: UUID) -> list[SoftwareItem]:
        """The customer's software list, cancelled and refunded orders included.

        A partner user sees its own partner's orders for the tenant; the
        tenant's customer global admin sees the orders of every partner
        that registered it (R11).
        """
        return software_list.for_tenant(self._views_ready(), tenant_id, call.actor.partner_id)

    @read(access.ACTIVITY_LOG, together=activity_log.check_request, logged=_ACTIVITY_LOGGED)
    def activity_log(
        self,
        call: Call[None],
        start: date | datetime,
        end: date | datetime,
        **filters: Unpack[ActivityFilter],
    ) -> list[ActivityEntry]:
        """R5: key views, downloads and link copies on the partner's orders, oldest first.

        Dates are whole UTC days, both ends inclusive; aware datetimes are the
        exact range ``[start, end)``. ``filters`` (`ActivityFilter`): ``tenant_id``,
        ``order_id``, ``user``, and ``limit`` (1..10000) with ``after`` (the
        ``position`` of the previous page's last entry) to page through it.
        """
        selection = activity_log.select(start, end, call.partner_id, **filters)
        entries = activity_log.entries(self._views_ready(), selection)
        call.context["rows"] = len(entries)
        return entries

    @read(access.MONTHLY_CREDITS, checks={"month": _validate.month}, logged=("month",))
    def monthly_credits(self, call: Call[None], month: str) -> CreditStatement:
        """Credits issued in a UTC month (``"YYYY-MM"``), with totals per currency."""
        statement = monthly_credits.for_month(self._views_ready(), call.partner_id, month)
        call.context["rows"] = len(statement.lines)
        return statement
