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
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.errors import (
    AccessDenied,
    AlreadyCancelled,
    CancellationWindowClosed,
    CustomerConflict,
    CustomerNotFound,
    IdempotencyConflict,
    InvalidInput,
    KeyRevoked,
    KmsNotAllowed,
    LedgerError,
    MarketUnavailable,
    NotCancellable,
    OrderNotFound,
    RefundAlreadyResolved,
    RefundNotFound,
    RefundNotPossible,
)
from ledger.money import Money
from ledger.policies.cancellation import CancellationPolicy
from ledger.policies.markets import AZURE_RESERVATION_UNAVAILABLE
from ledger.testing.commands import (
    AddCustomer,
    AskCancellationStatus,
    Cancel,
    Command,
    Download,
    Purchase,
    RequestRefund,
    ResolveRefund,
    ViewKey,
    Wait,
)
from ledger.testing.readable import show
from ledger.values import (
    AccessAction,
    ActivityEntry,
    Actor,
    Cancellation,
    CancellationReason,
    CancellationStatus,
    CreditLine,
    CreditReason,
    CreditStatement,
    Customer,
    DownloadLink,
    OrderStatus,
    Product,
    ProductKind,
    RefundRequest,
    Role,
    SoftwareItem,
)

if TYPE_CHECKING:
    from ledger.testing.runner import RunReport

__all__ = [
    "ModelMismatch",
    "ModelOrder",
    "ReferenceModel",
    "ReferenceRules",
]

DAY = timedelta(days=1)
LINK_LIFETIME = timedelta(days=14)
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


class ModelMismatch(AssertionError):
    """The ledger and the reference model disagree: a test failure, not a `LedgerError`.

    Raised by `ledger.testing.run`, ``report`` holds the figures it took to
    catch (steps, examples, seconds, seed); otherwise it is None.
    """

    report: RunReport | None = None


def require_equal(actual: object, expected: object, what: str) -> None:
    """Raise `ModelMismatch` naming each differing field unless both sides are equal."""
    if actual != expected:
        differences = _differences(actual, expected, "")[:MAX_SHOWN_DIFFERENCES]
        raise ModelMismatch(f"{what}:\n  " + "\n  ".join(differences))


MAX_SHOWN_DIFFERENCES = 10


def _differences(actual: object, expected: object, path: str) -> list[str]:
    """Field by field, so a 14-field row that differs in one field shows that field."""
    if is_dataclass(actual) and type(actual) is type(expected):
        return [
            line
            for f in fields(actual)
            for line in _differences(
                getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}"
            )
        ]
    sequences = (list, tuple)
    if isinstance(actual, sequences) and isinstance(expected, sequences):
        if len(actual) != len(expected):
            return [
                f"{path or 'items'}: expected {len(expected)}, the ledger has {len(actual)}:"
                f"\n    expected: {show(expected)}\n    ledger:   {show(actual)}"
            ]
        return [
            line
            for index, (a, e) in enumerate(zip(actual, expected, strict=True))
            for line in _differences(a, e, f"{path}[{index}]")
        ]
    if actual == expected:
        return []
    return [f"{path or 'value'}: expected {show(expected)}, the ledger gave {show(actual)}"]


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


def _sees(actor: Actor, partner_id: str, tenant_id: UUID) -> bool:
    if _is_support(actor):
        return True
    if actor.partner_id is not None:
        return actor.partner_id == partner_id
    return actor.tenant_id == tenant_id


def _is_support(actor: Actor) -> bool:
    return actor.partner_id is None and actor.tenant_id is None and Role.SUPPORT in actor.roles


def _partner_with(actor: Actor, roles: set[Role]) -> bool:
    return actor.partner_id is not None and bool(actor.roles & roles)


def _handles_keys(actor: Actor) -> bool:
    partner_agent = actor.partner_id is not None and Role.ADMIN_AGENT in actor.roles
    customer_admin = actor.tenant_id is not None and Role.GLOBAL_ADMIN in actor.roles
    return partner_agent or customer_admin


class ReferenceModel:
    """What the ledger should answer, kept in dicts and lists.

    `expect` predicts a command's outcome (an error type, or None for
    success) before it runs; `record` takes a successful result, checks it
    and updates the model. Views (`software`, `activity_log`, ...) are what
    the ledger's queries should return.
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

    # -- outcomes ------------------------------------------------------------------------

    def expect(
        self, command: Command, now: datetime, order_id: Resolve, refund_id: Resolve
    ) -> Expected:
        match command:
            case Wait():
                return None
            case AddCustomer(actor, customer):
                return self._expect_add_customer(actor, customer)
            case Purchase():
                return self._expect_purchase(command)
            case ViewKey(actor, order):
                return self._expect_key_access(actor, self.orders.get(order_id(order)), None)
            case Download():
                found = self.orders.get(order_id(command.order))
                return self._expect_key_access(command.actor, found, command)
            case AskCancellationStatus(actor, order):
                return self._expect_status(actor, self.orders.get(order_id(order)))
            case Cancel(actor, order):
                return self._expect_cancel(actor, self.orders.get(order_id(order)), now)
            case RequestRefund():
                return self._expect_refund_request(
                    command, self.orders.get(order_id(command.order)), now
                )
            case ResolveRefund():
                return self._expect_resolution(command, self.refunds.get(refund_id(command.refund)))
        raise TypeError(f"not a ledger.testing command: {command!r}")

    def _expect_add_customer(self, actor: Actor, customer: Customer) -> Expected:
        if not _partner_with(actor, CUSTOMER_MANAGERS):
            return AccessDenied
        # Only this partner's own registration can conflict; another partner's is never told.
        known = self.registrations.get((str(actor.partner_id), customer.tenant_id))
        if known is not None and known != customer:
            return CustomerConflict
        return None

    def _sees_tenant(self, actor: Actor, tenant_id: UUID) -> bool:
        if actor.partner_id is not None:
            return (actor.partner_id, tenant_id) in self.registrations
        registered = tenant_id in self.tenants
        return registered and (_is_support(actor) or actor.tenant_id == tenant_id)

    def _expect_purchase(self, command: Purchase) -> Expected:
        if (command.unit_price * command.quantity).amount > MAX_AMOUNT:
            return InvalidInput
        if not self._sees_tenant(command.actor, command.tenant_id):
            return CustomerNotFound
        if not _partner_with(command.actor, PURCHASERS):
            return AccessDenied
        partner_id = str(command.actor.partner_id)
        if command.idempotency_key is not None:
            earlier = self.idempotency.get((partner_id, command.idempotency_key))
            if earlier is not None:
                return None if earlier.request == _request(command) else IdempotencyConflict
        if command.activation != "MAK":
            return KmsNotAllowed
        market = self.registrations[(partner_id, command.tenant_id)].market
        reservation = command.product.kind is ProductKind.AZURE_RESERVATION
        if reservation and market in AZURE_RESERVATION_UNAVAILABLE:
            return MarketUnavailable
        return None

    def _expect_key_access(
        self, actor: Actor, order: ModelOrder | None, download: Download | None
    ) -> Expected:
        if order is None or not _sees(actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        if not _handles_keys(actor):
            return AccessDenied
        if download is not None and not (
            download.version in order.product.versions
            and download.language in order.product.languages
            and download.bitness in order.product.bitness
        ):
            return InvalidInput
        return KeyRevoked if order.revoked else None

    def _expect_status(self, actor: Actor, order: ModelOrder | None) -> Expected:
        if order is None or not _sees(actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        return None if actor.partner_id is not None else AccessDenied

    def _expect_cancel(self, actor: Actor, order: ModelOrder | None, now: datetime) -> Expected:
        if order is None or not _sees(actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        if not _partner_with(actor, {Role.ADMIN_AGENT}):
            return AccessDenied
        reason = self.status(order, now).reason
        return {
            None: None,
            "cancelled": AlreadyCancelled,
            "not_cancellable": NotCancellable,
        }.get(reason, CancellationWindowClosed)

    def _expect_refund_request(
        self, command: RequestRefund, order: ModelOrder | None, now: datetime
    ) -> Expected:
        if order is None or not _sees(command.actor, order.partner_id, order.tenant_id):
            return OrderNotFound
        if not _partner_with(command.actor, {Role.ADMIN_AGENT}):
            return AccessDenied
        amount = command.amount
        if amount.currency != order.total.currency or amount > order.total:
            return InvalidInput
        if self.status(order, now).reason != "window_closed":
            return RefundNotPossible
        return InvalidInput if amount > order.refundable else None

    def _expect_resolution(self, command: ResolveRefund, refund: RefundRequest | None) -> Expected:
        actor = command.actor
        if refund is None or not _sees(actor, refund.partner_id, refund.tenant_id):
            return RefundNotFound
        if not _is_support(actor):
            return AccessDenied
        if command.approve:
            approved = command.amount or refund.amount
            order = self.orders[refund.order_id]
            if approved.currency != refund.amount.currency:
                return InvalidInput
            if approved > refund.amount or approved > order.refundable:
                return InvalidInput
        return None if refund.status == "pending" else RefundAlreadyResolved

    # -- successes -----------------------------------------------------------------------

    def record(
        self, command: Command, result: Any, now: datetime, order_id: Resolve, refund_id: Resolve
    ) -> None:
        match command:
            case Wait():
                pass
            case AddCustomer(actor, customer):
                require_equal(result, customer.tenant_id, "add_customer returns the tenant id")
                self.tenants.setdefault(
                    customer.tenant_id, _Tenant(str(actor.partner_id), customer)
                )
                self.registrations[(str(actor.partner_id), customer.tenant_id)] = customer
            case Purchase():
                self._record_purchase(command, result, now)
            case ViewKey(actor, order):
                self._record_key_view(actor, self.orders[order_id(order)], result, now)
            case Download():
                self._record_link(command, self.orders[order_id(command.order)], result, now)
            case AskCancellationStatus(_, order):
                expected = self.status(self.orders[order_id(order)], now)
                require_equal(result, expected, "cancellation_status")
            case Cancel(actor, order):
                self._record_cancel(actor, self.orders[order_id(order)], result, now)
            case RequestRefund():
                self._record_refund_request(
                    command, self.orders[order_id(command.order)], result, now
                )
            case ResolveRefund():
                self._record_resolution(
                    command, self.refunds[refund_id(command.refund)], result, now
                )

    def _record_purchase(self, command: Purchase, order_id: UUID, now: datetime) -> None:
        partner_id = str(command.actor.partner_id)
        customer = self.registrations[(partner_id, command.tenant_id)]
        key = command.idempotency_key
        earlier = None if key is None else self.idempotency.get((partner_id, key))
        if earlier is not None:
            require_equal(
                order_id, earlier.order_id, "a repeated idempotency key returns the first order"
            )
            return
        if order_id in self.orders:
            raise ModelMismatch(f"purchase returned the id of an existing order {order_id}")
        order = ModelOrder(
            order_id=order_id,
            partner_id=partner_id,
            tenant_id=command.tenant_id,
            product=command.product,
            quantity=command.quantity,
            unit_price=command.unit_price,
            tax_inclusive=customer.market in TAX_INCLUSIVE_MARKETS,
            purchased_at=now,
            deadline=self.rules.deadline(command.product.kind, now),
            request=_request(command),
        )
        self.orders[order_id] = order
        if key is not None:
            self.idempotency[(partner_id, key)] = order

    def _record_key_view(self, actor: Actor, order: ModelOrder, key: str, now: datetime) -> None:
        if order.key is None:
            order.key = key
        require_equal(key, order.key, f"the licence key of order {order.order_id} never changes")
        self._log(actor, order, "key_viewed", now)

    def _record_link(
        self, command: Download, order: ModelOrder, link: DownloadLink, now: datetime
    ) -> None:
        require_equal(link.expires_at, now + LINK_LIFETIME, "a download link expires after 14 days")
        self._log(command.actor, order, "link_copied" if command.copy else "downloaded", now)

    def _record_cancel(
        self, actor: Actor, order: ModelOrder, cancellation: Cancellation, now: datetime
    ) -> None:
        credit = self.rules.credit(order, now)
        expected = Cancellation(order.order_id, credit, now, now.strftime("%Y-%m"))
        require_equal(cancellation, expected, "cancel")
        order.cancelled_at = now
        order.revoked = True
        self._credit(order, credit, now, "cancellation")

    def _record_refund_request(
        self, command: RequestRefund, order: ModelOrder, refund_id: UUID, now: datetime
    ) -> None:
        self.refunds[refund_id] = RefundRequest(
            refund_id=refund_id,
            order_id=order.order_id,
            tenant_id=order.tenant_id,
            partner_id=order.partner_id,
            amount=command.amount,
            reason=command.reason,
            contact_name=command.contact_name,
            contact_email=command.contact_email,
            contact_phone=command.contact_phone,
            attachments=(),
            requested_by=command.actor.user,
            requested_at=now,
            status="pending",
            approved_amount=None,
            resolved_by=None,
            resolved_at=None,
        )

    def _record_resolution(
        self, command: ResolveRefund, refund: RefundRequest, result: RefundRequest, now: datetime
    ) -> None:
        approved = (command.amount or refund.amount) if command.approve else None
        resolved = replace(
            refund,
            status="approved" if command.approve else "declined",
            approved_amount=approved,
            resolved_by=command.actor.user,
            resolved_at=now,
        )
        require_equal(result, resolved, "resolve_refund")
        self.refunds[refund.refund_id] = resolved
        if approved is not None:
            order = self.orders[refund.order_id]
            self._credit(order, approved, now, "refund")
            if order.refundable.minor_units == 0:
                order.revoked = True

    def _log(self, actor: Actor, order: ModelOrder, action: AccessAction, now: datetime) -> None:
        entry = ActivityEntry(
            now, actor.user, action, order.tenant_id, order.order_id, order.product.title
        )
        self.activity.append(_Activity(order.partner_id, entry))

    def _credit(
        self, order: ModelOrder, amount: Money, now: datetime, reason: CreditReason
    ) -> None:
        order.credited_minor += amount.minor_units
        line = CreditLine(order.order_id, order.tenant_id, amount, now, reason)
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


def _request(command: Purchase) -> tuple[object, ...]:
    return (
        command.tenant_id,
        command.product,
        command.quantity,
        command.unit_price,
        command.activation,
    )


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
