"""What every area of the facade shares: the wired parts and the visibility look-ups (R11).

Visibility comes before roles: an order or customer the actor may not see
is "not found", exactly as if it did not exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from ledger import logs
from ledger.aggregates import Licence, Order, Refund, Tenant, Webhook
from ledger.application.commands import Sight
from ledger.application.unit_of_work import UnitOfWork
from ledger.audit.trail import Trail
from ledger.errors import (
    CustomerNotFound,
    OrderNotFound,
    ProjectionError,
    RefundNotFound,
    ViewsBehind,
    WebhookNotFound,
)
from ledger.keys import KeyVault
from ledger.policies import access
from ledger.policies.calls import PolicyBook
from ledger.projections.sql import Params, Query, Row
from ledger.projections.updater import ViewUpdater
from ledger.projections.views import LedgerViews, PostgresLedgerViews
from ledger.values import Actor, ViewsMode

__all__ = ["LICENCE", "ORDER", "ORDER_AND_LICENCE", "REFUND", "TENANT", "LedgerCore"]

#: Follower mode: how often a query looks again for its own write in the views.
_FIRST_WAIT, _LONGEST_WAIT = 0.001, 0.02


class LedgerCore:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        views: LedgerViews,
        replica: PostgresLedgerViews | None = None,
        vault: KeyVault,
        policies: PolicyBook,
        mode: ViewsMode = "inline",
        views_timeout: float = 5.0,
        trail: Trail,
    ) -> None:
        self._uow = uow
        self._trail = trail
        self._views = views
        self._replica = replica
        self._vault = vault
        self._policies = policies
        self._updater = ViewUpdater(uow.events, views)
        self._mode: ViewsMode = mode
        self._views_timeout = views_timeout

    def _views_ready(self) -> Query:
        """Before a query: the function to read the views with, once they are ready for it.

        Inline, the first read it makes also checks, in the same round trip, that the
        views hold every stored event (whoever wrote it: another `Ledger` or process
        too); when they do not, it applies what was recorded and reads again.
        Followed, it first waits for our own last write. From a replica, every read
        checks the replica's position in the same round trip, and waits until it holds
        our own last write. Raises `ProjectionError` when the views stop at a damaged
        event (R15), and `ViewsBehind` when our last write is not there in time (§6, §12).
        """
        if self._replica is not None:
            return self._replica_reads(self._replica)
        if self._mode == "inline":
            return self._fresh_reads()
        self._wait_for_own_write(self._updater.position)
        return self._query

    def _replica_reads(self, replica: PostgresLedgerViews) -> Query:
        """Reads of the replica that hold this object's own writes (read-your-writes).

        By position, not by WAL location: our command's commit reaches the replica before
        the views' transaction that applies it, so what is waited for is the views'
        tracking position. Every read checks it, since a URL of several replicas may
        lend connections to more than one of them.
        """
        name = self._uow.events.name
        target = self._uow.last_position

        def query(template: str, params: Params) -> list[Row]:
            _, rows = replica.query_if_reached(name, target, template, params)
            if rows is not None:
                return rows
            if self._mode == "inline":
                # Our write may not be applied at all yet: that is our own job.
                self._catch_up()
                failure = self._updater.failure
                if failure is not None:
                    raise ProjectionError(failure.position, failure.problem)
            self._wait_for_own_write(lambda: replica.max_tracking_id(name) or 0)
            return replica.query(template, params)

        return query

    def _fresh_reads(self) -> Query:
        """Reads whose first one is checked against the log's head (one per query call)."""
        checked = False

        def query(template: str, params: Params) -> list[Row]:
            nonlocal checked
            if not checked:
                checked = True
                rows = self._updater.read_if_current(template, params)
                if rows is not None:
                    return rows
                self._catch_up()
                failure = self._updater.failure
                if failure is not None:
                    raise ProjectionError(failure.position, failure.problem)
            return self._query(template, params)

        return query

    def _wait_for_own_write(self, views_position: Callable[[], int]) -> None:
        """Until ``views_position()`` reaches our last write, at most ``views_timeout``."""
        target = self._uow.last_position
        if target == 0:
            return
        started = time.monotonic()
        pause = _FIRST_WAIT
        while True:
            position = views_position()
            if position >= target:
                return
            waited = time.monotonic() - started
            if waited >= self._views_timeout:
                break
            time.sleep(min(pause, self._views_timeout - waited))
            pause = min(pause * 2, _LONGEST_WAIT)
        # Stuck behind a damaged event rather than slow? Then say where.
        after, head = self._views.chain_head()
        batch = self._uow.events.recorder.select_notifications(
            start=after, limit=1, inclusive_of_start=False
        )
        if batch:
            _, failure = self._updater.check(batch, head, after)
            if failure is not None:
                raise ProjectionError(failure.position, failure.problem)
        raise ViewsBehind(target, position, time.monotonic() - started)

    @contextmanager
    def _read(self, query: str, actor: Actor, **context: Any) -> Iterator[dict[str, Any]]:
        """Log one ``ledger.read`` line for this read: the actor, what was asked, the outcome."""
        asked = {name: value for name, value in context.items() if value is not None}
        with logs.logged(self._uow.log, "ledger.read", actor, query=query, **asked) as bound:
            yield bound

    def _refused(self, actor: Actor, call: str, reason: str) -> None:
        """R21: a refused attempt, into the trail (bounded; nothing else is written)."""
        self._trail.refused(actor, call, self._uow.now(), reason, self._uow.log)

    def _query(self, template: str, params: Params) -> list[Row]:
        return self._views.query(template, params)

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

    def _visible_order_and_licence(self, actor: Actor, order_id: UUID) -> tuple[Order, Licence]:
        """The order (seen through its visibility) and its licence, in one read."""
        order, licence = self._uow.get_pair((order_id, Order), (Licence.id_for(order_id), Licence))
        if order is None or not access.can_see(actor, order.partner_id, order.tenant_id):
            raise OrderNotFound(f"order {order_id} not found")
        assert licence is not None, "every order is saved together with its licence"
        return order, licence

    def _visible_refund(self, actor: Actor, refund_id: UUID) -> Refund:
        refund = self._uow.get(refund_id, Refund)
        if refund is None or not access.can_see(actor, refund.partner_id, refund.tenant_id):
            raise RefundNotFound(f"refund request {refund_id} not found")
        return refund

    def _visible_webhook(self, actor: Actor, endpoint_id: UUID) -> Webhook:
        """The partner's own endpoint while it is in force (else not found, R11)."""
        webhook = self._uow.get(endpoint_id, Webhook)
        if webhook is None or webhook.partner_id != actor.partner_id or webhook.removed_at:
            raise WebhookNotFound(f"webhook endpoint {endpoint_id} not found")
        return webhook

    def _visible_tenant(self, actor: Actor, tenant_id: UUID) -> Tenant:
        """The tenant, if the actor's partner registered it (or it is the actor's own).

        A registration is never edited or removed, so a kept tenant that already shows
        the actor's partner's registration answers without a read of the store.
        """
        partner_id = actor.partner_id
        tenant = self._uow.get_settled(
            Tenant.id_for(tenant_id),
            Tenant,
            lambda kept: partner_id is not None and kept.is_registered_by(partner_id),
        )
        if tenant is None or not access.can_see_tenant(actor, tenant.registrations, tenant_id):
            raise CustomerNotFound(f"customer {tenant_id} not found")
        return tenant


#: What commands act on, as the actor may see it (`ledger.application.commands.Sight`).
ORDER = Sight("order_id", LedgerCore._visible_order)
LICENCE = Sight("order_id", LedgerCore._visible_licence)
ORDER_AND_LICENCE = Sight("order_id", LedgerCore._visible_order_and_licence)
REFUND = Sight("refund_id", LedgerCore._visible_refund)
TENANT = Sight("tenant_id", LedgerCore._visible_tenant)
WEBHOOK = Sight("endpoint_id", LedgerCore._visible_webhook)
