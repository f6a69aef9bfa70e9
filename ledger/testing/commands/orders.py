"""Customers, purchases, the clock, and cancelling (R1–R3, R6–R9, R11, R12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from ledger.errors import (
    AccessDenied,
    AlreadyCancelled,
    CancellationWindowClosed,
    CustomerConflict,
    CustomerNotFound,
    IdempotencyConflict,
    InvalidInput,
    KmsNotAllowed,
    MarketUnavailable,
    NotCancellable,
    OrderNotFound,
)
from ledger.money import Money
from ledger.policies.markets import AZURE_RESERVATION_UNAVAILABLE
from ledger.testing.commands.base import Command, Context, Expected, Names
from ledger.testing.mismatch import ModelMismatch, require_equal
from ledger.testing.model import (
    CUSTOMER_MANAGERS,
    MAX_AMOUNT,
    PURCHASERS,
    TAX_INCLUSIVE_MARKETS,
    ModelOrder,
    ReferenceModel,
    partner_with,
    sees,
)
from ledger.testing.readable import duration, instant
from ledger.values import Actor, Cancellation, Customer, Product, ProductKind, Role

__all__ = ["AddCustomer", "AskCancellationStatus", "Cancel", "Purchase", "Wait"]


@dataclass(frozen=True)
class AddCustomer(Command):
    actor: Actor
    customer: Customer

    def run(self, context: Context) -> Any:
        return context.ledger.add_customer(self.actor, self.customer)

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        if not partner_with(self.actor, CUSTOMER_MANAGERS):
            return AccessDenied
        # Only this partner's own registration can conflict; another partner's is never told.
        known = model.registrations.get((str(self.actor.partner_id), self.customer.tenant_id))
        return CustomerConflict if known is not None and known != self.customer else None

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        require_equal(result, self.customer.tenant_id, "add_customer returns the tenant id")
        model.register(self.actor, self.customer)

    def describe(self, at: datetime, names: Names) -> str:
        customer = self.customer
        return (
            f"{names.actor(self.actor)} adds customer {names.tenant(customer.tenant_id)}"
            f" {customer.name!r} in {customer.market}"
        )

    def tenant_added(self) -> UUID | None:
        return self.customer.tenant_id


@dataclass(frozen=True)
class Purchase(Command):
    actor: Actor
    tenant_id: UUID
    product: Product
    quantity: int
    unit_price: Money
    order: str
    idempotency_key: str | None = None
    activation: str = "MAK"

    BUYS: ClassVar[bool] = True

    @property
    def request(self) -> tuple[object, ...]:
        """R12: what "the same parameters" means for a repeated idempotency key."""
        return (self.tenant_id, self.product, self.quantity, self.unit_price, self.activation)

    def run(self, context: Context) -> Any:
        order_id = context.ledger.purchase(
            self.actor,
            tenant_id=self.tenant_id,
            product=self.product,
            quantity=self.quantity,
            unit_price=self.unit_price,
            idempotency_key=self.idempotency_key,
            activation=self.activation,
        )
        context.order_ids[self.order] = order_id
        return order_id

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        if (self.unit_price * self.quantity).amount > MAX_AMOUNT:
            return InvalidInput
        if not model.sees_tenant(self.actor, self.tenant_id):
            return CustomerNotFound
        if not partner_with(self.actor, PURCHASERS):
            return AccessDenied
        partner_id = str(self.actor.partner_id)
        if self.idempotency_key is not None:
            earlier = model.idempotency.get((partner_id, self.idempotency_key))
            if earlier is not None:
                return None if earlier.request == self.request else IdempotencyConflict
        if self.activation != "MAK":
            return KmsNotAllowed
        market = model.registrations[(partner_id, self.tenant_id)].market
        reservation = self.product.kind is ProductKind.AZURE_RESERVATION
        if reservation and market in AZURE_RESERVATION_UNAVAILABLE:
            return MarketUnavailable
        return None

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        partner_id = str(self.actor.partner_id)
        key = self.idempotency_key
        earlier = None if key is None else model.idempotency.get((partner_id, key))
        if earlier is not None:
            require_equal(
                result, earlier.order_id, "a repeated idempotency key returns the first order"
            )
            return
        if result in model.orders:
            raise ModelMismatch(f"purchase returned the id of an existing order {result}")
        customer = model.registrations[(partner_id, self.tenant_id)]
        order = ModelOrder(
            order_id=result,
            partner_id=partner_id,
            tenant_id=self.tenant_id,
            product=self.product,
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_inclusive=customer.market in TAX_INCLUSIVE_MARKETS,
            purchased_at=now,
            deadline=model.rules.deadline(self.product.kind, now),
            request=self.request,
            rules=model.rules,
        )
        model.orders[result] = order
        if key is not None:
            model.idempotency[(partner_id, key)] = order

    def describe(self, at: datetime, names: Names) -> str:
        product = self.product
        what = product.kind.value
        if product.kind is ProductKind.SUBSCRIPTION:
            what += f" with a {product.term_days}-day term"
        extras = ""
        if self.idempotency_key is not None:
            extras += f", idempotency key {self.idempotency_key!r}"
        if self.activation != "MAK":
            extras += f", activation {self.activation}"
        return (
            f"{names.actor(self.actor)} buys {self.order} for {names.tenant(self.tenant_id)}:"
            f" {self.quantity} × {what} at {self.unit_price}{extras}"
        )


@dataclass(frozen=True)
class Wait(Command):
    """Move the clock forward (the only command that records nothing by design)."""

    delta: timedelta

    SHOWS_RESULT: ClassVar[bool] = False
    RECORDS_NOTHING: ClassVar[bool] = True

    def run(self, context: Context) -> Any:
        return context.clock.advance(self.delta)

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        return None

    def describe(self, at: datetime, names: Names) -> str:
        return f"the clock moves on by {duration(self.delta)}, to {instant(at + self.delta)}"


@dataclass(frozen=True)
class SwitchPolicy(Command):
    """Deploy the state machine's ``next_policy`` (R20): new orders are bought under it,
    earlier ones keep theirs. Records nothing; the model's rules for new orders change."""

    policy_id: str

    SHOWS_RESULT: ClassVar[bool] = False

    def run(self, context: Context) -> Any:
        if context.switch is None:
            raise ModelMismatch("SwitchPolicy needs a machine with a next_policy to deploy")
        context.switch()

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        return None

    def describe(self, at: datetime, names: Names) -> str:
        return f"policy {self.policy_id!r} is deployed: orders bought from now on get it (R20)"


@dataclass(frozen=True)
class AskCancellationStatus(Command):
    actor: Actor
    order: str

    def run(self, context: Context) -> Any:
        return context.ledger.cancellation_status(self.actor, context.order_id(self.order))

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        order = model.orders.get(context.order_id(self.order))
        if order is None or not sees(self.actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        return None if self.actor.partner_id is not None else AccessDenied

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        expected = model.status(model.orders[context.order_id(self.order)], now)
        require_equal(result, expected, "cancellation_status")

    def describe(self, at: datetime, names: Names) -> str:
        asks = f"asks whether {self.order} can be cancelled"
        return f"{names.actor(self.actor)} {asks}{names.age(self.order, at)}"


@dataclass(frozen=True)
class Cancel(Command):
    actor: Actor
    order: str

    def run(self, context: Context) -> Any:
        return context.ledger.cancel(self.actor, context.order_id(self.order))

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        order = model.orders.get(context.order_id(self.order))
        if order is None or not sees(self.actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        if not partner_with(self.actor, {Role.ADMIN_AGENT}):
            return AccessDenied
        reason = model.status(order, now).reason
        refusals = {None: None, "cancelled": AlreadyCancelled, "not_cancellable": NotCancellable}
        return refusals.get(reason, CancellationWindowClosed)

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        order = model.orders[context.order_id(self.order)]
        rules = order.rules or model.rules
        credit = rules.credit(order, now)
        expected = Cancellation(order.order_id, credit, now, now.strftime("%Y-%m"))
        require_equal(result, expected, "cancel", because=lambda: rules.explain(order, now))
        order.cancelled_at = now
        order.revoked = True
        model.credit(order, credit, now, "cancellation")

    def describe(self, at: datetime, names: Names) -> str:
        return f"{names.actor(self.actor)} cancels {self.order}{names.age(self.order, at)}"
