"""The public value shapes: frozen, typed, validated on construction, JSON-ready (`to_dict`)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypedDict
from uuid import UUID

from ledger import _validate
from ledger._json import JSONReady
from ledger.countries import validate_market
from ledger.errors import InvalidInput
from ledger.money import Money

__all__ = [
    "actor_or_name",
    "AccessAction",
    "ActivityEntry",
    "Actor",
    "Cancellation",
    "CancellationReason",
    "CancellationStatus",
    "CreditLine",
    "CreditReason",
    "CreditStatement",
    "Customer",
    "DownloadLink",
    "FeedItem",
    "FeedPage",
    "OrderId",
    "OrderStatus",
    "OrderTerms",
    "Product",
    "ProductKind",
    "RefundRequest",
    "RefundStatus",
    "Role",
    "SoftwareItem",
    "WebhookEndpoint",
]

#: Where an order's life stands in the software list.
OrderStatus = Literal["active", "cancelled", "refunded"]
#: Why an order is not cancellable (R9); ``"refunded"``: support refunded its whole total.
CancellationReason = Literal["window_closed", "not_cancellable", "cancelled", "refunded"]
#: A refund request's state (R10).
RefundStatus = Literal["pending", "approved", "declined"]
#: What the activity log records (R4, R5).
AccessAction = Literal["key_viewed", "downloaded", "link_copied"]
#: Why a credit was issued (R7, R10).
CreditReason = Literal["cancellation", "refund"]


class ProductKind(StrEnum):
    PERPETUAL = "PERPETUAL"
    SUBSCRIPTION = "SUBSCRIPTION"
    AZURE_RESERVATION = "AZURE_RESERVATION"
    SOFTWARE_PLAN = "SOFTWARE_PLAN"


class Role(StrEnum):
    ADMIN_AGENT = "ADMIN_AGENT"
    SALES_AGENT = "SALES_AGENT"
    GLOBAL_ADMIN = "GLOBAL_ADMIN"
    ACCOUNT_ADMIN = "ACCOUNT_ADMIN"
    REFERRAL_ADMIN = "REFERRAL_ADMIN"
    MARKETING_CONTENT_ADMIN = "MARKETING_CONTENT_ADMIN"
    SUPPORT = "SUPPORT"
    #: Reads everything of the partners it is granted and writes nothing (R21): a partner
    #: user with it audits its own partner; with neither partner nor tenant, the vendor's
    #: auditor, every partner.
    AUDITOR = "AUDITOR"


@dataclass(frozen=True, slots=True)
class Actor(JSONReady):
    """Who acts: a partner user (``partner_id``), a customer user (``tenant_id``),
    the vendor's support (``Role.SUPPORT`` and neither) or the vendor's auditor
    (``Role.AUDITOR`` and neither)."""

    user: str
    # Any set of roles is accepted (callers write {Role.ADMIN_AGENT}); stored as a frozenset.
    roles: Set[Role]
    partner_id: str | None = None
    tenant_id: UUID | None = None

    def __post_init__(self) -> None:
        _validate.text("user", self.user)
        roles = _validate.tuple_of("roles", self.roles, object, shape="a set of Role")
        object.__setattr__(
            self, "roles", frozenset(_validate.member("roles", r, Role) for r in roles)
        )
        _validate.optional_text("partner_id", self.partner_id)
        if self.tenant_id is not None:
            object.__setattr__(self, "tenant_id", _validate.uuid("tenant_id", self.tenant_id))
        if self.partner_id is not None and self.tenant_id is not None:
            raise InvalidInput(
                "tenant_id", "an actor is a partner user or a customer user, not both"
            )
        if (
            self.partner_id is None
            and self.tenant_id is None
            and self.roles.isdisjoint((Role.SUPPORT, Role.AUDITOR))
        ):
            raise InvalidInput(
                "partner_id",
                "a partner_id or tenant_id is required (or Role.SUPPORT or Role.AUDITOR)",
            )

    @property
    def is_partner_user(self) -> bool:
        return self.partner_id is not None

    @property
    def is_customer_user(self) -> bool:
        return self.tenant_id is not None

    @property
    def is_support(self) -> bool:
        return self.partner_id is None and self.tenant_id is None and Role.SUPPORT in self.roles

    @property
    def is_vendor_auditor(self) -> bool:
        return self.partner_id is None and self.tenant_id is None and Role.AUDITOR in self.roles

    @property
    def sees_every_partner(self) -> bool:
        """The vendor's support or auditor: no partner's orders are hidden from it."""
        return self.is_support or self.is_vendor_auditor

    def has_any(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


def actor_or_name(actor: object) -> Actor | str | None:
    """An audit read's or admin action's ``actor=``: an `Actor` (checked where it is used),
    an operator's name, or None (the operator, unnamed)."""
    if actor is None or isinstance(actor, Actor):
        return actor
    if isinstance(actor, str):
        return _validate.text("actor", actor)
    raise InvalidInput(
        "actor", f"must be an Actor, a user name or None, got {type(actor).__name__}"
    )


@dataclass(frozen=True, slots=True)
class Customer(JSONReady):
    """A tenant of a partner."""

    tenant_id: UUID
    domain: str
    name: str
    market: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant_id", _validate.uuid("tenant_id", self.tenant_id))
        _validate.text("domain", self.domain)
        _validate.text("name", self.name)
        validate_market("market", self.market)


@dataclass(frozen=True, slots=True)
class Product(JSONReady):
    """What is sold. ``term_days`` is required for subscriptions."""

    product_id: str
    sku_id: str
    title: str
    kind: ProductKind
    term_days: int | None = None
    versions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    bitness: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _validate.text("product_id", self.product_id)
        _validate.text("sku_id", self.sku_id)
        _validate.text("title", self.title)
        object.__setattr__(self, "kind", _validate.member("kind", self.kind, ProductKind))
        if self.term_days is None:
            if self.kind is ProductKind.SUBSCRIPTION:
                raise InvalidInput("term_days", "is required for a SUBSCRIPTION")
        else:
            _validate.integer("term_days", self.term_days, minimum=1, maximum=100 * 366)
        object.__setattr__(self, "versions", _validate.tuple_of("versions", self.versions, str))
        object.__setattr__(self, "languages", _validate.tuple_of("languages", self.languages, str))
        bitness = _validate.tuple_of("bitness", self.bitness, int)
        if any(b not in (32, 64) for b in bitness):
            raise InvalidInput("bitness", "only 32 and 64 are offered")
        object.__setattr__(self, "bitness", bitness)


@dataclass(frozen=True, slots=True)
class OrderTerms(JSONReady):
    """An order as bought: what a cancellation policy decides from (R19).

    ``total`` is ``unit_price × quantity``; ``tax_inclusive`` is R2's flag for
    the ``market``; ``purchased_at`` is the purchase's instant in UTC.
    """

    product: Product
    market: str
    quantity: int
    unit_price: Money
    total: Money
    tax_inclusive: bool
    purchased_at: datetime


@dataclass(frozen=True, slots=True)
class DownloadLink(JSONReady):
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CancellationStatus(JSONReady):
    cancellable: bool
    days_left: int
    cancellable_until: datetime | None
    reason: CancellationReason | None
    refund_request_possible: bool


@dataclass(frozen=True, slots=True)
class Cancellation(JSONReady):
    order_id: UUID
    credit: Money
    cancelled_at: datetime
    invoice_month: str


@dataclass(frozen=True, slots=True)
class SoftwareItem(JSONReady):
    order_id: UUID
    product_id: str
    title: str
    quantity: int
    total: Money
    tax_inclusive: bool
    status: OrderStatus
    key_available: bool
    purchased_at: datetime
    cancellable_until: datetime | None
    tenant_id: UUID
    sku_id: str
    kind: ProductKind
    credited: Money


class ActivityFilter(TypedDict, total=False):
    """R5: which activity-log entries, beside the time range: the live log
    (``Ledger.activity_log``) and history (``led.audit.as_of(...).activity_log``) take
    these keywords, each optional. ``limit`` (1..10000) and ``after`` (the ``position``
    of the previous page's last entry) page through it."""

    tenant_id: UUID | None
    order_id: UUID | None
    user: str | None
    limit: int | None
    after: int | None


@dataclass(frozen=True, slots=True)
class ActivityEntry(JSONReady):
    at: datetime
    user: str
    action: AccessAction
    tenant_id: UUID
    order_id: UUID
    title: str
    #: Its place in the event log: pass the last one as ``after=`` for the next page (R5).
    #: Not compared: two entries for the same access are equal wherever they were read.
    position: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class CreditLine(JSONReady):
    order_id: UUID
    tenant_id: UUID
    amount: Money
    issued_at: datetime
    reason: CreditReason
    #: Stable and unique: the id of this credit's ``credit.issued`` feed item (SPEC §9), so
    #: two equal credits at the same instant stay two. None only on a line built by hand.
    credit_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreditStatement(JSONReady):
    month: str
    lines: tuple[CreditLine, ...]
    totals: dict[str, Money] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundRequest(JSONReady):
    refund_id: UUID
    order_id: UUID
    tenant_id: UUID
    partner_id: str
    amount: Money
    reason: str
    contact_name: str
    contact_email: str
    contact_phone: str
    attachments: tuple[str, ...]
    requested_by: str
    requested_at: datetime
    status: RefundStatus
    approved_amount: Money | None
    resolved_by: str | None
    resolved_at: datetime | None

    @property
    def id(self) -> UUID:
        """The same as ``refund_id``: what `Ledger.request_refund` returned."""
        return self.refund_id

    @property
    def state(self) -> RefundStatus:
        """The same as ``status`` (R10 lists "refund requests and their state")."""
        return self.status


@dataclass(frozen=True, slots=True)
class FeedItem(JSONReady):
    """One event of the integration feed (SPEC §9); ``data`` per type is in docs/feed/."""

    id: str
    type: str
    occurred_at: datetime
    partner_id: str
    tenant_id: UUID | None
    order_id: UUID | None
    data: dict[str, Any]
    cursor: str


@dataclass(frozen=True, slots=True)
class FeedPage(JSONReady):
    """Items in log order; pass ``next_cursor`` back as ``after=`` for the next page."""

    items: tuple[FeedItem, ...]
    next_cursor: str


@dataclass(frozen=True, slots=True)
class WebhookEndpoint(JSONReady):
    """Where a partner's feed items are POSTed, signed (SPEC §9). ``types`` None: every type.

    ``secret`` (``whsec_...``, the Standard Webhooks signing secret) is shown once, in
    what `Ledger.add_webhook` returns; listed endpoints have None there.
    """

    id: UUID
    url: str
    types: tuple[str, ...] | None
    created_at: datetime
    secret: str | None = field(default=None, repr=False)


class OrderId(UUID):
    """What `Ledger.purchase` returns: the order's id (a plain `UUID` in every respect:
    equal to, and hashed like, the same UUID) that also says whether the call placed the
    order (``replayed`` False) or found it placed by an earlier call with the same
    idempotency key (True, R12), which the caller must then not invoice again."""

    __slots__ = ("replayed",)
    replayed: bool

    def __init__(self, order_id: UUID, *, replayed: bool) -> None:
        # UUIDs refuse attribute assignment; the value was a valid UUID already.
        object.__setattr__(self, "int", order_id.int)
        object.__setattr__(self, "is_safe", order_id.is_safe)
        object.__setattr__(self, "replayed", replayed)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_order_id, (self.int, self.replayed))


def _order_id(number: int, replayed: bool) -> OrderId:
    return OrderId(UUID(int=number), replayed=replayed)


ViewsMode = Literal["inline", "follower"]


@dataclass(frozen=True, slots=True)
class ViewsStatus:
    """How far the views are (§6): ``position`` is the last event applied, ``head`` the last
    stored; ``lag_seconds`` is how long ago the oldest event not yet applied was recorded.
    ``stopped_at``/``problem`` name a damaged event the views cannot pass (R15)."""

    mode: ViewsMode
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    stopped_at: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "position": self.position,
            "head": self.head,
            "lag_events": self.lag_events,
            "lag_seconds": self.lag_seconds,
            "stopped_at": self.stopped_at,
            "problem": self.problem,
        }
