"""Buying (R1–R3, R12), asking whether an order can be cancelled (R9), cancelling (R6–R8)."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger import _validate
from ledger.aggregates import Licence, Order
from ledger.aggregates.base import derived_id
from ledger.aggregates.order import purchase_fingerprint
from ledger.application import inputs
from ledger.application.core import LedgerCore
from ledger.faults import guarded
from ledger.keys import generate_mak
from ledger.money import Money
from ledger.policies import access
from ledger.values import Actor, Cancellation, CancellationStatus, Product

__all__ = ["OrderCommands"]


class OrderCommands(LedgerCore):
    @guarded
    def purchase(
        self,
        actor: Actor,
        tenant_id: UUID,
        product: Product,
        quantity: int,
        unit_price: Money,
        idempotency_key: str | None = None,
        activation: str = "MAK",
    ) -> UUID:
        """R3: buy ``quantity`` × ``product`` for a customer; returns the order id."""
        actor = inputs.actor(actor)
        tenant_id = _validate.uuid("tenant_id", tenant_id)
        product = inputs.instance("product", product, Product)
        quantity = _validate.integer("quantity", quantity, minimum=1, maximum=inputs.MAX_QUANTITY)
        unit_price = inputs.positive_money("unit_price", unit_price)
        inputs.order_total(unit_price, quantity)
        activation = inputs.activation(activation)
        idempotency_key = _validate.optional_text("idempotency_key", idempotency_key)

        uow = self._uow
        with uow.command("purchase", actor, tenant_id=str(tenant_id)) as context:
            tenant = self._visible_tenant(actor, tenant_id)
            access.PURCHASE.require(actor)
            assert actor.partner_id is not None
            partner_id = actor.partner_id
            fingerprint = purchase_fingerprint(tenant_id, product, quantity, unit_price, activation)
            order_id = (
                uuid4()
                if idempotency_key is None
                else derived_id("order", partner_id, idempotency_key)
            )
            context["order_id"] = str(order_id)
            attempts = [0]

            def attempt() -> UUID:
                attempts[0] += 1
                # A keyed order may exist from an earlier call; an unkeyed one only if an
                # earlier attempt of this call committed before its connection failed.
                if idempotency_key is not None or attempts[0] > 1:
                    previous = uow.get(order_id, Order)
                    if previous is not None:
                        previous.confirm_replay(fingerprint, idempotency_key or "")
                        context["replayed"] = True
                        return order_id
                now = uow.now()
                order = Order.purchase(
                    order_id=order_id,
                    partner_id=partner_id,
                    customer=tenant.customer_for(partner_id),
                    product=product,
                    quantity=quantity,
                    unit_price=unit_price,
                    activation=activation,
                    policy=self._policy,
                    idempotency_key=idempotency_key,
                    request_fingerprint=fingerprint,
                    user=actor.user,
                    now=now,
                )
                # The data key is written by the same transaction as the events it seals.
                sealed = self._vault.seal_unstored(order_id, generate_mak())
                licence = Licence.issue(
                    order, product, key_ciphertext=sealed.ciphertext, user=actor.user, now=now
                )
                uow.save(order, licence, wrapped_keys=[sealed.row])
                self._vault.remember(sealed)
                return order_id

            return uow.retrying(attempt)

    @guarded
    def cancellation_status(self, actor: Actor, order_id: UUID) -> CancellationStatus:
        """R9: cancellable and for how long, or why not; for any partner user of the order."""
        actor = inputs.actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        order = self._visible_order(actor, order_id)
        access.CANCELLATION_STATUS.require(actor)
        return order.cancellation_status(self._uow.now())

    @guarded
    def cancel(self, actor: Actor, order_id: UUID) -> Cancellation:
        """R6–R8: Cancelled, CreditIssued and KeysRevoked in one write."""
        actor = inputs.actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        uow = self._uow
        with uow.command("cancel", actor, order_id=str(order_id)) as context:
            loaded = [self._visible_order_and_licence(actor, order_id)]
            access.CANCEL.require(actor)

            def attempt() -> Cancellation:
                # The first attempt uses what was loaded for the checks; a retry reloads
                # (the winner's events are read: the loser meets AlreadyCancelled, R13).
                order, licence = (
                    loaded.pop() if loaded else self._visible_order_and_licence(actor, order_id)
                )
                cancellation = order.cancel(licence, self._policy, actor.user, uow.now())
                uow.save(order, licence)
                return cancellation

            cancellation = uow.retrying(attempt)
            context["credit"] = str(cancellation.credit)
            return cancellation
