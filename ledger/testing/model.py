"""A plain reference model of the rules (docs/rules.md), written again in the fewest obvious lines.

It shares no rule code with the ledger (deadlines, credits, rounding, access
and the order of checks are all written out again here), so a broken policy
in the ledger shows up as a difference instead of agreeing with itself. Only
data is shared: the R1 market list, checked against the rules as written by the ledger's
own tests, and, unless you state your own, the windows a policy is
configured with (R6 makes them configuration).

`ReferenceRules` holds what a programme may change (windows and the credit);
subclass it, or `ReferenceModel` for deeper changes, and hand the subclass
to `LedgerStateMachine`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from uuid import UUID

from ledger.errors import (
    LedgerError,
)
from ledger.money import Money, minor_unit_exponent
from ledger.policies.cancellation import CancellationPolicy
from ledger.projections.feed import item_id as feed_item_id
from ledger.testing.readable import duration
from ledger.values import (
    AccessAction,
    ActivityEntry,
    Actor,
    CancellationReason,
    CancellationStatus,
    CreditLine,
    CreditReason,
    CreditStatement,
    Customer,
    OrderStatus,
    Product,
    ProductKind,
    RefundRequest,
    Role,
    SoftwareItem,
)

__all__ = [
    "ModelOrder",
    "ReferenceModel",
    "ReferenceRules",
]

DAY = timedelta(days=1)
#: R15: no unit price or order total above 10^12 major units.
MAX_AMOUNT = 10**12
TAX_INCLUSIVE_MARKETS = frozenset({"AU", "BR"})

# Who may do what, as R3–R11 say it.
PURCHASERS = {Role.ADMIN_AGENT, Role.GLOBAL_ADMIN}
CUSTOMER_MANAGERS = {Role.ADMIN_AGENT, Role.SALES_AGENT, Role.GLOBAL_ADMIN}
ACTIVITY_READERS = {
    Role.GLOBAL_ADMIN,
    Role.ACCOUNT_ADMIN,
    Role.REFERRAL_ADMIN,
    Role.MARKETING_CONTENT_ADMIN,
}
CREDIT_READERS = {Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.ADMIN_AGENT}

Resolve = Callable[[str], UUID]
Expected = type[LedgerError] | None


def _round_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2):
        quotient += 1
    return quotient


@dataclass(frozen=True)
class ReferenceRules:
    """Cancellation windows and the credit, as the model expects them (R6, R8).

    The default is R6's: 30 days for perpetual licences and subscriptions,
    other kinds never; 100 % for perpetual, unused started days for
    subscriptions, rounded half-even to the minor unit, never below zero.
    """

    windows: Mapping[ProductKind, timedelta] = field(
        default_factory=lambda: {
            ProductKind.PERPETUAL: timedelta(days=30),
            ProductKind.SUBSCRIPTION: timedelta(days=30),
        }
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", MappingProxyType(dict(self.windows)))

    @classmethod
    def windows_of(cls, policy: CancellationPolicy) -> ReferenceRules:
        """R8 credits with the windows a policy is configured with (its data, not its code).

        A policy that computes deadlines or credits other than its windows and
        R8 say is still caught; to check the windows themselves against your
        programme's terms, state them: ``ReferenceRules({...})``.
        """
        return cls(dict(policy.windows))

    def deadline(self, kind: ProductKind, purchased_at: datetime) -> datetime | None:
        window = self.windows.get(kind)
        return None if window is None else purchased_at + window

    def boundaries(self, kind: ProductKind, term_days: int | None) -> tuple[timedelta, ...]:
        """Durations after purchase at which the model's answers change.

        The state machine aims the clock at these as well as at the policy's
        own `CancellationPolicy.boundaries`, so a threshold the policy forgot
        to announce is still probed. R6: the end of the window. R8: a
        subscription's credit steps down at each started day while unused
        days remain, and reaches zero when the term is used up; only the days
        inside the window can be seen. A subclass with its own credit rule
        adds its thresholds here.
        """
        window = self.windows.get(kind)
        if window is None:
            return ()
        found = [window]
        if kind is ProductKind.SUBSCRIPTION and term_days is not None:
            day = DAY
            while day < window and day <= term_days * DAY:
                found.append(day)
                day += DAY
        return tuple(sorted(found))

    def credit(self, order: ModelOrder, now: datetime) -> Money:
        total = order.total
        if order.product.kind is not ProductKind.SUBSCRIPTION:
            return total
        term = order.product.term_days
        assert term is not None, "a subscription has a term"
        days_used = (now - order.purchased_at) // DAY + 1
        unused = max(term - days_used, 0)
        minor = _round_half_even(total.minor_units * unused, term)
        return Money.from_minor_units(minor, total.currency)

    def explain(self, order: ModelOrder, now: datetime) -> str:
        """How `credit` got its answer, for a failure report: the total, the days, the formula.

        A subclass with its own credit rule may say its own arithmetic here; the
        default tells R8's, or just the answer when `credit` is overridden.
        """
        credit = self.credit(order, now)
        total = order.total
        bought = f"{order.quantity} × {order.unit_price} = {total}"
        if type(self).credit is not ReferenceRules.credit:
            return f"{type(self).__name__}.credit of {bought} gives {credit}"
        if order.product.kind is not ProductKind.SUBSCRIPTION:
            return f"R8: a {order.product.kind.value} is credited its whole total, {bought}"
        term = order.product.term_days
        assert term is not None, "a subscription has a term"
        elapsed = now - order.purchased_at
        used = elapsed // DAY + 1
        unused = max(term - used, 0)
        exact = total.minor_units * unused / term / 10 ** minor_unit_exponent(total.currency)
        return (
            f"R8: total {bought}; {used} day(s) used of the {term}-day term"
            f" ({duration(elapsed)} after purchase: ⌊elapsed / 1 day⌋ + 1), {unused} unused;"
            f" {total} × {unused} / {term} = {exact:.6g} {total.currency}"
            f" → {credit} (half-even to the minor unit, never below zero)"
        )


@dataclass
class ModelOrder:
    order_id: UUID
    partner_id: str
    tenant_id: UUID
    product: Product
    quantity: int
    unit_price: Money
    tax_inclusive: bool
    purchased_at: datetime
    deadline: datetime | None
    request: tuple[object, ...]
    cancelled_at: datetime | None = None
    credited_minor: int = 0
    revoked: bool = False
    key: str | None = None
    #: Events in the order's stream: Purchased, then Cancelled and CreditIssued, or a
    #: CreditIssued per approved refund (a credit's id is derived from its version).
    events: int = 1
    #: The rules in force when it was bought (R20): they decide its credit for good.
    rules: ReferenceRules | None = None

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def credited(self) -> Money:
        return Money.from_minor_units(self.credited_minor, self.total.currency)

    @property
    def refundable(self) -> Money:
        return self.total - self.credited

    @property
    def fully_refunded(self) -> bool:
        return self.cancelled_at is None and self.credited_minor == self.total.minor_units


@dataclass(frozen=True)
class _Tenant:
    partner_id: str
    customer: Customer


@dataclass(frozen=True)
class _Activity:
    partner_id: str
    entry: ActivityEntry


@dataclass(frozen=True)
class _Credit:
    partner_id: str
    line: CreditLine


def sees(actor: Actor, partner_id: str, tenant_id: UUID) -> bool:
    if is_support(actor):
        return True
    if actor.partner_id is not None:
        return actor.partner_id == partner_id
    return actor.tenant_id == tenant_id


def is_support(actor: Actor) -> bool:
    return actor.partner_id is None and actor.tenant_id is None and Role.SUPPORT in actor.roles


def partner_with(actor: Actor, roles: set[Role]) -> bool:
    return actor.partner_id is not None and bool(actor.roles & roles)


def handles_keys(actor: Actor) -> bool:
    partner_agent = actor.partner_id is not None and Role.ADMIN_AGENT in actor.roles
    customer_admin = actor.tenant_id is not None and Role.GLOBAL_ADMIN in actor.roles
    return partner_agent or customer_admin


class ReferenceModel:
    """What the ledger should answer, kept in dicts and lists.

    Each command predicts its own outcome from the model's state (``expect``:
    an error type, or None for success) and, after a success, checks the
    result and updates the state (``record``): see `ledger.testing.commands`.
    Views (`software`, `activity_log`, ...) are what the ledger's queries
    should return.
    """

    def __init__(self, rules: ReferenceRules | None = None) -> None:
        self.rules = rules or ReferenceRules()
        # R11: each partner registers a tenant for itself. `tenants` keeps the first
        # registration of each tenant id (the machine draws tenants from it).
        self.tenants: dict[UUID, _Tenant] = {}
        self.registrations: dict[tuple[str, UUID], Customer] = {}
        self.orders: dict[UUID, ModelOrder] = {}
        self.refunds: dict[UUID, RefundRequest] = {}
        self.idempotency: dict[tuple[str, str], ModelOrder] = {}
        self.activity: list[_Activity] = []
        self.credits: list[_Credit] = []

    # -- what commands look up and add (each command's own steps: ledger.testing.commands) --

    def sees_tenant(self, actor: Actor, tenant_id: UUID) -> bool:
        if actor.partner_id is not None:
            return (actor.partner_id, tenant_id) in self.registrations
        registered = tenant_id in self.tenants
        return registered and (is_support(actor) or actor.tenant_id == tenant_id)

    def register(self, actor: Actor, customer: Customer) -> None:
        self.tenants.setdefault(customer.tenant_id, _Tenant(str(actor.partner_id), customer))
        self.registrations[(str(actor.partner_id), customer.tenant_id)] = customer

    def log(self, actor: Actor, order: ModelOrder, action: AccessAction, now: datetime) -> None:
        entry = ActivityEntry(
            now, actor.user, action, order.tenant_id, order.order_id, order.product.title
        )
        self.activity.append(_Activity(order.partner_id, entry))

    def credit(self, order: ModelOrder, amount: Money, now: datetime, reason: CreditReason) -> None:
        order.credited_minor += amount.minor_units
        order.events += 2 if reason == "cancellation" else 1
        credit_id = feed_item_id(order.order_id, order.events)
        line = CreditLine(order.order_id, order.tenant_id, amount, now, reason, credit_id)
        self.credits.append(_Credit(order.partner_id, line))

    # -- views ---------------------------------------------------------------------------

    def status(self, order: ModelOrder, now: datetime) -> CancellationStatus:
        """R9, worked out from R6–R10 as written, not from the ledger's `Order`.

        * R6: an order whose kind has a window may be cancelled once, while
          ``now < deadline``; a kind without a window never.
        * R9: while it may, ``days_left`` is ``ceil(remaining / 1 day)``;
          otherwise 0 and a reason: ``cancelled`` (R6, a second cancel),
          ``not_cancellable`` (R6, no window) or ``window_closed``. The
          deadline is shown either way.
        * R10 allows refund requests only past the window, so a refund of the
          whole total happens past the window too. Nothing is then left to
          request: the ledger calls that ``window_closed`` case ``refunded``
          (docs/decisions.md). The model refines only ``window_closed`` this
          way, so a fully refunded order inside its window, or of a kind
          without one, which these rules never produce, would show up as a
          disagreement instead of agreeing with the ledger.
        * R9: a refund request is the way forward exactly when the reason is
          ``window_closed``.
        """
        deadline = order.deadline
        cancelled = order.cancelled_at is not None
        if not cancelled and deadline is not None and now < deadline:
            days_left = -((now - deadline) // DAY)  # ceil(remaining / 1 day)
            return CancellationStatus(True, days_left, deadline, None, False)
        reason: CancellationReason
        if cancelled:
            reason = "cancelled"
        elif deadline is None:
            reason = "not_cancellable"
        elif order.refundable.minor_units == 0:
            reason = "refunded"
        else:
            reason = "window_closed"
        return CancellationStatus(False, 0, deadline, reason, reason == "window_closed")

    def software(self, tenant_id: UUID, partner_id: str | None = None) -> list[SoftwareItem]:
        """The tenant's orders: one partner's, or (None, the tenant's own view) every partner's."""
        mine = [
            o
            for o in self.orders.values()
            if o.tenant_id == tenant_id and partner_id in (None, o.partner_id)
        ]
        return [_software_item(o) for o in sorted(mine, key=lambda o: o.purchased_at)]

    def activity_log(self, partner_id: str, start: date, end: date) -> list[ActivityEntry]:
        entries = [
            a.entry
            for a in self.activity
            if a.partner_id == partner_id and start <= a.entry.at.date() <= end
        ]
        return sorted(entries, key=lambda e: e.at)

    def monthly_credits(self, partner_id: str, month: str) -> CreditStatement:
        lines = sorted(
            (
                c.line
                for c in self.credits
                if c.partner_id == partner_id and c.line.issued_at.strftime("%Y-%m") == month
            ),
            key=lambda line: line.issued_at,
        )
        totals: dict[str, Money] = {}
        for line in lines:
            currency = line.amount.currency
            totals[currency] = totals.get(currency, Money.zero(currency)) + line.amount
        return CreditStatement(month, tuple(lines), totals)

    def refund_requests(self, partner_id: str | None) -> list[RefundRequest]:
        mine = [r for r in self.refunds.values() if partner_id in (None, r.partner_id)]
        return sorted(mine, key=lambda r: (r.requested_at, str(r.refund_id)))

    def credit_months(self, partner_id: str) -> set[str]:
        return {
            c.line.issued_at.strftime("%Y-%m") for c in self.credits if c.partner_id == partner_id
        }


def _software_item(order: ModelOrder) -> SoftwareItem:
    status: OrderStatus
    if order.cancelled_at is not None:
        status = "cancelled"
    elif order.fully_refunded:
        status = "refunded"
    else:
        status = "active"
    return SoftwareItem(
        order_id=order.order_id,
        product_id=order.product.product_id,
        title=order.product.title,
        quantity=order.quantity,
        total=order.total,
        tax_inclusive=order.tax_inclusive,
        status=status,
        key_available=not order.revoked,
        purchased_at=order.purchased_at,
        cancellable_until=order.deadline,
        tenant_id=order.tenant_id,
        sku_id=order.product.sku_id,
        kind=order.product.kind,
        credited=order.credited,
    )
