"""Order: one purchase of one product for one customer, its cancellation and its credits.

The order decides every rule about itself: at purchase, KMS (R3), the
market (R1), the tax flag (R2) and the cancellation deadline (R6, from the
policy); later, its cancellation status (R9) and the cancellation itself
(R6–R8). What also changes the licence or a refund is decided in
`ledger.aggregates.decisions`. Public methods decide and raise; the nested
events' ``apply`` only assigns, so replaying history can never fail on a rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent
from ledger.aggregates.order_request import FINGERPRINT_FIELDS, OrderRequest, purchase_fingerprint
from ledger.errors import (
    AlreadyCancelled,
    CancellationWindowClosed,
    IdempotencyConflict,
    NotCancellable,
)
from ledger.money import Money, stored_money
from ledger.policies.calls import GoverningPolicy, PolicyBook
from ledger.policies.cancellation import STANDARD_POLICY_ID, days_left
from ledger.policies.kms import require_issued_activation
from ledger.policies.markets import check_can_sell, is_tax_inclusive
from ledger.values import (
    Cancellation,
    CancellationReason,
    CancellationStatus,
    CreditReason,
    Customer,
    OrderTerms,
    Product,
    ProductKind,
)

__all__ = [
    "FINGERPRINT_FIELDS",
    "Order",
    "OrderRequest",
    "invoice_month",
    "purchase_fingerprint",
]


def invoice_month(at: datetime) -> str:
    """The UTC month a credit issued at ``at`` is invoiced in (R7): ``YYYY-MM``."""
    return at.astimezone(UTC).strftime("%Y-%m")


def _money_v1_to_v2(state: dict[str, Any], name: str) -> str:
    """Flatten a v1 ``{"amount", "currency"}`` field in place; returns its currency."""
    money = state.pop(name)
    state[name] = money["amount"]
    return str(money["currency"])


class Order(BaseAggregate[UUID]):
    TOPIC = "ledger:Order"

    # Declared for type checkers only: the events' apply methods assign these.
    if TYPE_CHECKING:
        partner_id: str
        tenant_id: UUID
        market: str
        title: str
        kind: ProductKind
        term_days: int | None
        quantity: int
        total: Money
        purchase_event: Order.Purchased
        purchased_at: datetime
        cancellable_until: datetime | None
        policy_id: str
        request_fingerprint: str
        cancelled_at: datetime | None
        credited: Money

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Purchased(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Order.Purchased.v1"
        class_version: ClassVar[int] = 3
        originator_topic: str
        partner_id: str
        tenant_id: UUID
        market: str
        product_id: str
        sku_id: str
        title: str
        kind: ProductKind
        term_days: int | None
        versions: tuple[str, ...]
        languages: tuple[str, ...]
        bitness: tuple[int, ...]
        quantity: int
        currency: str
        unit_price: Decimal
        total: Decimal
        tax_inclusive: bool
        cancellable_until: datetime | None
        policy_id: str
        idempotency_key: str | None
        request_fingerprint: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 embedded the `Product` and `Money` values; v2 names each field."""
            product = state.pop("product")
            for name in ("product_id", "sku_id", "title", "kind", "term_days"):
                state[name] = product[name]
            state["currency"] = _money_v1_to_v2(state, "unit_price")
            _money_v1_to_v2(state, "total")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """v3 records the policy the order was bought under (R20) and the whole product
            (R19); orders from before belong to the built-in default policy."""
            state["policy_id"] = STANDARD_POLICY_ID
            for name in ("versions", "languages", "bitness"):
                state[name] = []

        @property
        def product(self) -> Product:
            """The product as bought."""
            return Product(
                product_id=self.product_id,
                sku_id=self.sku_id,
                title=self.title,
                kind=self.kind,
                term_days=self.term_days,
                versions=self.versions,
                languages=self.languages,
                bitness=self.bitness,
            )

        @property
        def terms(self) -> OrderTerms:
            """The order as bought: what its policy decides from (R19)."""
            return OrderTerms(
                product=self.product,
                market=self.market,
                quantity=self.quantity,
                unit_price=stored_money(self.unit_price, self.currency),
                total=stored_money(self.total, self.currency),
                tax_inclusive=self.tax_inclusive,
                purchased_at=self.timestamp,
            )

        def apply(self, order: Order) -> None:
            order.partner_id = self.partner_id
            order.tenant_id = self.tenant_id
            order.market = self.market
            order.title = self.title
            order.kind = self.kind
            order.term_days = self.term_days
            order.quantity = self.quantity
            order.total = stored_money(self.total, self.currency)
            order.purchase_event = self
            order.purchased_at = self.timestamp
            order.cancellable_until = self.cancellable_until
            order.policy_id = self.policy_id
            order.request_fingerprint = self.request_fingerprint
            order.cancelled_at = None
            order.credited = stored_money("0", self.currency)

    class Cancelled(Event):
        TOPIC: ClassVar[str] = "ledger:Order.Cancelled.v1"

        def apply(self, order: Order) -> None:
            order.cancelled_at = self.timestamp

    class CreditIssued(Event):
        TOPIC: ClassVar[str] = "ledger:Order.CreditIssued.v1"
        class_version: ClassVar[int] = 2
        partner_id: str
        tenant_id: UUID
        amount: Decimal
        currency: str
        reason: CreditReason
        refund_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["currency"] = _money_v1_to_v2(state, "amount")

        @property
        def money(self) -> Money:
            return stored_money(self.amount, self.currency)

        def apply(self, order: Order) -> None:
            order.credited = order.credited + self.money

    # -- deciding ------------------------------------------------------------------------

    @classmethod
    def purchase(
        cls,
        *,
        order_id: UUID,
        request: OrderRequest,
        partner_id: str,
        customer: Customer,
        policy: GoverningPolicy,
        user: str,
        now: datetime,
    ) -> Order:
        """R1–R3, R6, R20: refuse KMS and blocked markets; fix tax flag, total, deadline and
        the policy that governs the order."""
        product, unit_price = request.product, request.unit_price
        require_issued_activation(request.activation)
        check_can_sell(product.kind, customer.market)
        tax_inclusive = is_tax_inclusive(customer.market)
        terms = OrderTerms(
            product=product,
            market=customer.market,
            quantity=request.quantity,
            unit_price=unit_price,
            total=request.total,
            tax_inclusive=tax_inclusive,
            purchased_at=now,
        )
        return cls._create(
            cls.Purchased,
            id=order_id,
            timestamp=now,
            user=user,
            partner_id=partner_id,
            tenant_id=customer.tenant_id,
            market=customer.market,
            product_id=product.product_id,
            sku_id=product.sku_id,
            title=product.title,
            kind=product.kind,
            term_days=product.term_days,
            versions=product.versions,
            languages=product.languages,
            bitness=product.bitness,
            quantity=request.quantity,
            currency=unit_price.currency,
            unit_price=unit_price.amount,
            total=terms.total.amount,
            tax_inclusive=tax_inclusive,
            cancellable_until=policy.deadline(terms, order_id),
            policy_id=policy.policy_id,
            idempotency_key=request.idempotency_key,
            request_fingerprint=request.fingerprint,
        )

    def confirm_replay(self, request_fingerprint: str, idempotency_key: str) -> None:
        """R12: the same key again must carry the same parameters."""
        if request_fingerprint != self.request_fingerprint:
            raise IdempotencyConflict(
                f"key {idempotency_key!r} was used with other parameters (order {self.id})",
                order_id=self.id,
            )

    @property
    def terms(self) -> OrderTerms:
        """The order as bought: what its policy decides from (R19)."""
        return self.purchase_event.terms

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def refundable(self) -> Money:
        """What may still be credited: the total less every credit issued so far."""
        return self.total - self.credited

    @property
    def is_fully_refunded(self) -> bool:
        """Refunds credited the whole total: the order's life ends as ``refunded`` (its
        licence revoked for that reason, which is how the software list learns it)."""
        return not self.is_cancelled and self.refundable == Money.zero(self.total.currency)

    def cancellation_status(self, now: datetime) -> CancellationStatus:
        """R9: cancellable and for how long, or why not. The deadline is the one the order's
        own policy fixed at purchase (R20)."""
        deadline = self.cancellable_until
        reason: CancellationReason
        if self.is_cancelled:
            reason = "cancelled"
        elif self.is_fully_refunded:
            reason = "refunded"
        elif deadline is None:
            reason = "not_cancellable"
        elif now >= deadline:
            reason = "window_closed"
        else:
            return CancellationStatus(
                cancellable=True,
                days_left=days_left(deadline, now),
                cancellable_until=deadline,
                reason=None,
                refund_request_possible=False,
            )
        return CancellationStatus(
            cancellable=False,
            days_left=0,
            cancellable_until=deadline,
            reason=reason,
            refund_request_possible=reason == "window_closed",
        )

    def cancel(self, policies: PolicyBook, user: str, now: datetime) -> Cancellation:
        """R6–R8, R20: refuse, or cancel and credit the amount of the policy the order was
        bought under (the licence is revoked by `ledger.aggregates.decisions.cancel_order`,
        which decides for both)."""
        policy = policies.governing(self.policy_id, self.id)
        status = self.cancellation_status(now)
        if status.reason == "cancelled":
            raise AlreadyCancelled(
                f"order {self.id} was cancelled at {self.cancelled_at}",
                order_id=self.id,
                cancelled_at=self.cancelled_at,
                credit=self.credited,
            )
        if status.reason == "not_cancellable":
            raise NotCancellable(f"{self.kind.value} orders cannot be cancelled")
        if not status.cancellable:
            raise CancellationWindowClosed(
                f"order {self.id} could be cancelled until {self.cancellable_until}"
            )
        # A custom policy is user code: `GoverningPolicy` checks its credit fits the order (R8).
        credit = policy.credit(self.terms, now, self.refundable, self.id)
        self.trigger_event(self.Cancelled, timestamp=now, user=user)
        self.issue_credit(credit, reason="cancellation", refund_id=None, user=user, now=now)
        return Cancellation(
            order_id=self.id, credit=credit, cancelled_at=now, invoice_month=invoice_month(now)
        )

    def issue_credit(
        self,
        amount: Money,
        *,
        reason: CreditReason,
        refund_id: UUID | None,
        user: str,
        now: datetime,
    ) -> None:
        self.trigger_event(
            self.CreditIssued,
            timestamp=now,
            user=user,
            partner_id=self.partner_id,
            tenant_id=self.tenant_id,
            amount=amount.amount,
            currency=amount.currency,
            reason=reason,
            refund_id=refund_id,
        )
