"""Buying (R1–R3, R12), asking whether an order can be cancelled (R9), cancelling (R6–R8)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger import _validate
from ledger.aggregates import Licence, Order, Tenant
from ledger.aggregates.base import derived_id
from ledger.aggregates.decisions import cancel_order, place_order
from ledger.aggregates.order import OrderRequest
from ledger.application import inputs
from ledger.application.commands import Call, Check, command, query
from ledger.application.core import ORDER, ORDER_AND_LICENCE, TENANT, LedgerCore
from ledger.keys import generate_mak
from ledger.money import Money
from ledger.policies import access
from ledger.values import Cancellation, CancellationStatus, OrderId, Product

__all__ = ["OrderCommands"]

_PURCHASE_CHECKS: dict[str, Check] = {
    "tenant_id": _validate.uuid,
    "product": inputs.product,
    "quantity": inputs.quantity,
    "unit_price": inputs.positive_money,
    "activation": inputs.activation,
    "idempotency_key": _validate.optional_text,
}


class OrderCommands(LedgerCore):
    @command(
        access.PURCHASE,
        sees=TENANT,
        checks=_PURCHASE_CHECKS,
        together=inputs.order_total,
        logged=("tenant_id",),
    )
    def purchase(
        self,
        call: Call[Tenant],
        tenant_id: UUID,
        product: Product,
        quantity: int,
        unit_price: Money,
        idempotency_key: str | None = None,
        activation: str = "MAK",
    ) -> OrderId:
        """R3: buy ``quantity`` × ``product`` for a customer; returns the order id, whose
        ``replayed`` says whether an earlier call with the same key placed it (R12)."""
        request = OrderRequest(
            tenant_id, product, quantity, unit_price, activation, idempotency_key
        )
        order_id = self._order_id(call, request)
        if (placed := self._replayed(call, order_id, request)) is not None:
            return OrderId(order_id, replayed=placed != call.wrote_at)
        self._place(call, order_id, request)
        return OrderId(order_id, replayed=False)

    def _place(self, call: Call[Tenant], order_id: UUID, request: OrderRequest) -> None:
        """The order, its licence and its sealed key, in one write (R14: the data key is
        written by the same transaction as the events it seals)."""
        sealed = self._vault.seal_unstored(order_id, generate_mak())
        order, licence = place_order(
            order_id=order_id,
            request=request,
            partner_id=call.partner_id,
            customer=call.seen.customer_for(call.partner_id),
            policy=self._policies.current,
            key_ciphertext=sealed.ciphertext,
            user=call.user,
            now=(now := call.now()),
        )
        # Remembered across attempts: if this write's commit is reported lost and the next
        # attempt finds the order, it is this call's own, not a replay.
        call.wrote_at = now
        self._uow.save(order, licence, wrapped_keys=[sealed.row])
        self._vault.remember(sealed)

    def _order_id(self, call: Call[Tenant], request: OrderRequest) -> UUID:
        """R12: a keyed order's id is the partner's key's; an unkeyed one is new."""
        key = request.idempotency_key
        order_id = call.new_id() if key is None else derived_id("order", call.partner_id, key)
        call.context["order_id"] = str(order_id)
        return order_id

    def _replayed(
        self, call: Call[Tenant], order_id: UUID, request: OrderRequest
    ) -> datetime | None:
        """R12: when the order was placed, if it exists already: by an earlier call with the
        same key, or by an earlier attempt of this call whose commit was reported lost."""
        if request.idempotency_key is None and call.attempt == 1:
            return None
        previous = self._uow.get(order_id, Order)
        if previous is None:
            return None
        previous.confirm_replay(request.fingerprint, request.idempotency_key or "")
        call.context["replayed"] = True
        return previous.purchased_at

    @query(access.CANCELLATION_STATUS, sees=ORDER, checks={"order_id": _validate.uuid})
    def cancellation_status(self, call: Call[Order], order_id: UUID) -> CancellationStatus:
        """R9: cancellable and for how long, or why not; for any partner user of the order.
        R20: the order's own policy must be known, as a cancel would need it."""
        order = call.seen
        self._policies.governing(order.policy_id, order.id)
        return order.cancellation_status(call.now())

    @command(
        access.CANCEL,
        sees=ORDER_AND_LICENCE,
        checks={"order_id": _validate.uuid},
        logged=("order_id",),
    )
    def cancel(self, call: Call[tuple[Order, Licence]], order_id: UUID) -> Cancellation:
        """R6–R8: Cancelled, CreditIssued and KeysRevoked in one write."""
        order, licence = call.seen
        cancellation = cancel_order(order, licence, self._policies, call.user, call.now())
        self._uow.save(order, licence)
        call.context["credit"] = str(cancellation.credit)
        return cancellation
