"""The `Ledger` facade: the only place that knows about transactions, idempotency and access.

Every command runs the same way: validate all input (R15), load what it acts
on and check visibility (R11) and role, let the aggregates decide, then save
every changed aggregate in one atomic write. A racing writer's
``IntegrityError`` makes the command start over from fresh state (R13), so
the loser meets the rule it now breaks (``AlreadyCancelled``). Queries first
bring the views up to date, so a query reflects every command before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ledger import _validate
from ledger.aggregates import Licence, Order, Refund, Tenant
from ledger.aggregates.base import derived_id
from ledger.audit import Audit
from ledger.errors import (
    AccessDenied,
    ClockError,
    CustomerConflict,
    CustomerNotFound,
    IdempotencyConflict,
    InvalidInput,
    KmsNotAllowed,
    LedgerError,
    OrderNotFound,
    RefundNotFound,
    RefundNotPossible,
)
from ledger.eventstore import EventStore
from ledger.keys import KeyVault, generate_mak
from ledger.money import Money
from ledger.policies import access
from ledger.policies.cancellation import CancellationPolicy
from ledger.policies.markets import check_can_sell, is_tax_inclusive
from ledger.projections import activity_log, monthly_credits, refund_requests, software_list
from ledger.projections.updater import ViewUpdater
from ledger.projections.views import LedgerViews, construct_views
from ledger.stores import Store, parse_store_url, resolve_secret_key, schema_migration
from ledger.values import (
    ActivityEntry,
    Actor,
    Cancellation,
    CancellationStatus,
    CreditStatement,
    Customer,
    DownloadLink,
    Product,
    RefundRequest,
    SoftwareItem,
)

__all__ = ["DOWNLOAD_LINK_LIFETIME", "Ledger"]

DOWNLOAD_LINK_LIFETIME = timedelta(days=14)
DOWNLOAD_BASE_URL = "https://download.ledger.example"
MAX_QUANTITY = 100_000
MAX_WRITE_ATTEMPTS = 20
ACTIVATIONS = ("MAK", "KMS")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,31}$")

Clock = Callable[[], datetime]
T = TypeVar("T")

log = structlog.get_logger("ledger")


def _system_clock() -> datetime:
    return datetime.now(UTC)


def _actor(value: object) -> Actor:
    if not isinstance(value, Actor):
        raise InvalidInput("actor", f"must be an Actor, got {type(value).__name__}")
    return value


def _money(field: str, value: object) -> Money:
    if not isinstance(value, Money):
        raise InvalidInput(field, f"must be Money, got {type(value).__name__}")
    return value


def _positive_money(field: str, value: object) -> Money:
    money = _money(field, value)
    if money.amount <= 0:
        raise InvalidInput(field, "must be above zero")
    return money


def _refund_within(amount: Money, ceiling: Money, what: str) -> None:
    """R10: a refund is in the order's currency and never above ``ceiling``."""
    if amount.currency != ceiling.currency:
        raise InvalidInput("amount", f"must be in the order's currency {ceiling.currency}")
    if amount > ceiling:
        raise InvalidInput("amount", f"exceeds {what} ({ceiling})")


def _fingerprint(**parameters: object) -> str:
    canonical = json.dumps(parameters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Ledger:
    """Commands and queries of SPEC §4. Open with `Ledger.open`; close, or use ``with``."""

    def __init__(
        self,
        *,
        store: Store,
        events: EventStore,
        views: LedgerViews,
        vault: KeyVault,
        clock: Clock,
        policy: CancellationPolicy,
        logger: Any = None,
    ) -> None:
        self._store = store
        self._events = events
        self._views = views
        self._vault = vault
        self._clock = clock
        self._policy = policy
        self._log = logger if logger is not None else log
        self._updater = ViewUpdater(events, views)
        self._audit = Audit(events, views, self._updater)

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        secret_key: str | bytes | None = None,
        cancellation_policy: CancellationPolicy | None = None,
        logger: Any = None,
    ) -> Ledger:
        """Open a store: ``None``/``memory://``, ``sqlite:///path`` or ``postgresql://...``.

        ``logger`` is a structlog logger for the ``ledger.command`` events
        (default: ``structlog.get_logger("ledger")``), e.g. one with bound context.
        """
        store = parse_store_url(url)
        if clock is not None and not callable(clock):
            raise InvalidInput("clock", "must be a zero-argument callable returning a datetime")
        policy = cancellation_policy or CancellationPolicy.default()
        if not isinstance(policy, CancellationPolicy):
            raise InvalidInput("cancellation_policy", "must be a CancellationPolicy")
        vault = KeyVault(resolve_secret_key(store, secret_key))
        with schema_migration(store):
            events = EventStore(env=store.env)
            views = construct_views(events.factory, store.kind)
        ledger = cls(
            store=store,
            events=events,
            views=views,
            vault=vault,
            clock=clock or _system_clock,
            policy=policy,
            logger=logger,
        )
        ledger.catch_up()
        ledger._log.debug("ledger.opened", store=store.description)
        return ledger

    def close(self) -> None:
        self._events.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def audit(self) -> Audit:
        """R18: rebuild, state as of an instant, exports, hash-chain digest and verify."""
        return self._audit

    @property
    def cancellation_policy(self) -> CancellationPolicy:
        return self._policy

    def catch_up(self) -> int:
        """Apply recorded events to the views; returns how many were applied."""
        return self._updater.catch_up()

    # -- plumbing --------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
            raise ClockError(f"the clock must return an aware datetime, got {now!r}")
        return now.astimezone(UTC)

    @contextlib.contextmanager
    def _command(self, name: str, actor: Actor, **context: Any) -> Iterator[dict[str, Any]]:
        bound = dict(context)
        try:
            yield bound
        except LedgerError as error:
            self._log.info(
                "ledger.command",
                command=name,
                user=actor.user,
                partner_id=actor.partner_id,
                outcome=type(error).__name__,
                **bound,
            )
            raise
        self._log.info(
            "ledger.command",
            command=name,
            user=actor.user,
            partner_id=actor.partner_id,
            outcome="ok",
            **bound,
        )

    @staticmethod
    def _retrying(attempt: Callable[[], T]) -> T:
        """Run a load-decide-save attempt again when a racing writer won (R13)."""
        for _ in range(MAX_WRITE_ATTEMPTS - 1):
            try:
                return attempt()
            except IntegrityError:
                continue
        return attempt()

    def _get(self, aggregate_id: UUID, kind: type[T]) -> T | None:
        try:
            aggregate: object = self._events.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _visible_order(self, actor: Actor, order_id: UUID) -> Order:
        order = self._get(order_id, Order)
        if order is None or not access.can_see(actor, order.partner_id, order.tenant_id):
            raise OrderNotFound(f"order {order_id} not found")
        return order

    def _visible_tenant(self, actor: Actor, tenant_id: UUID) -> Tenant:
        tenant = self._get(Tenant.id_for(tenant_id), Tenant)
        if tenant is None or not access.can_see(actor, tenant.partner_id, tenant_id):
            raise CustomerNotFound(f"customer {tenant_id} not found")
        return tenant

    def _licence(self, order: Order) -> Licence:
        licence = self._get(Licence.id_for(order.id), Licence)
        assert licence is not None, "every order is saved together with its licence"
        return licence

    def _query(self, template: str, params: Any) -> list[Any]:
        return self._views.query(template, params)

    # -- customers -------------------------------------------------------------------------

    def add_customer(self, actor: Actor, customer: Customer) -> UUID:
        """Register a tenant for the actor's partner; the same details again are a no-op."""
        actor = _actor(actor)
        if not isinstance(customer, Customer):
            raise InvalidInput("customer", f"must be a Customer, got {type(customer).__name__}")
        with self._command("add_customer", actor, tenant_id=str(customer.tenant_id)):
            access.require_partner_role(actor, access.CUSTOMER_MANAGERS, "add customers")
            assert actor.partner_id is not None
            partner_id = actor.partner_id

            def attempt() -> UUID:
                existing = self._get(Tenant.id_for(customer.tenant_id), Tenant)
                if existing is not None:
                    if existing.partner_id == partner_id and existing.customer == customer:
                        return customer.tenant_id
                    raise CustomerConflict(f"tenant {customer.tenant_id} is already registered")
                self._events.save(Tenant.add(partner_id, customer, actor.user, self._now()))
                return customer.tenant_id

            return self._retrying(attempt)

    # -- purchase --------------------------------------------------------------------------

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
        actor = _actor(actor)
        tenant_id = _validate.uuid("tenant_id", tenant_id)
        if not isinstance(product, Product):
            raise InvalidInput("product", f"must be a Product, got {type(product).__name__}")
        quantity = _validate.integer("quantity", quantity, minimum=1, maximum=MAX_QUANTITY)
        unit_price = _positive_money("unit_price", unit_price)
        _validate.text("activation", activation)
        if activation not in ACTIVATIONS:
            raise InvalidInput("activation", f"{activation!r} is not an activation type (MAK)")
        if idempotency_key is not None:
            _validate.text("idempotency_key", idempotency_key)

        with self._command("purchase", actor, tenant_id=str(tenant_id)) as context:
            tenant = self._visible_tenant(actor, tenant_id)
            access.require_partner_role(actor, access.PURCHASERS, "buy")
            partner_id = tenant.partner_id
            fingerprint = _fingerprint(
                tenant_id=tenant_id,
                product=asdict(product),
                quantity=quantity,
                unit_price=unit_price.to_dict(),
                activation=activation,
            )
            order_id = (
                uuid4()
                if idempotency_key is None
                else derived_id("order", partner_id, idempotency_key)
            )
            context["order_id"] = str(order_id)

            def attempt() -> UUID:
                if idempotency_key is not None:
                    previous = self._get(order_id, Order)
                    if previous is not None:
                        if previous.request_fingerprint != fingerprint:
                            raise IdempotencyConflict(
                                f"key {idempotency_key!r} was used with other parameters"
                            )
                        context["replayed"] = True
                        return order_id
                if activation != "MAK":
                    raise KmsNotAllowed("activation is MAK only; KMS keys are not issued")
                market = tenant.customer.market
                check_can_sell(product.kind, market)
                now = self._now()
                order = Order.purchase(
                    order_id=order_id,
                    partner_id=partner_id,
                    tenant_id=tenant_id,
                    market=market,
                    product=product,
                    quantity=quantity,
                    unit_price=unit_price,
                    tax_inclusive=is_tax_inclusive(market),
                    cancellable_until=self._policy.deadline(product.kind, now),
                    idempotency_key=idempotency_key,
                    request_fingerprint=fingerprint,
                    user=actor.user,
                    now=now,
                )
                licence = Licence.issue(
                    order_id=order_id,
                    partner_id=partner_id,
                    tenant_id=tenant_id,
                    title=product.title,
                    key_ciphertext=self._vault.seal(order_id, generate_mak()),
                    versions=product.versions,
                    languages=product.languages,
                    bitness=product.bitness,
                    user=actor.user,
                    now=now,
                )
                self._events.save(order, licence)
                return order_id

            return self._retrying(attempt)

    # -- keys and downloads (R4) -----------------------------------------------------------

    def view_key(self, actor: Actor, order_id: UUID) -> str:
        """Return the licence key and record that the actor saw it."""
        actor = _actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        with self._command("view_key", actor, order_id=str(order_id)):
            order = self._visible_order(actor, order_id)
            access.require_key_handler(actor, "view licence keys")

            def attempt() -> str:
                licence = self._licence(order)
                key = self._vault.open(order_id, licence.key_ciphertext)
                licence.view_key(actor.user, self._now())
                self._events.save(licence)
                return key

            return self._retrying(attempt)

    def download(
        self, actor: Actor, order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        """A download link valid for 14 days; the download is recorded."""
        return self._link("download", actor, order_id, version, language, bitness, copied=False)

    def copy_link(
        self, actor: Actor, order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        """Like `download`, recorded as a copied link."""
        return self._link("copy_link", actor, order_id, version, language, bitness, copied=True)

    def _link(
        self,
        command: str,
        actor: Actor,
        order_id: UUID,
        version: str,
        language: str,
        bitness: int,
        *,
        copied: bool,
    ) -> DownloadLink:
        actor = _actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        _validate.text("version", version)
        _validate.text("language", language)
        _validate.integer("bitness", bitness, minimum=0)
        with self._command(command, actor, order_id=str(order_id)):
            order = self._visible_order(actor, order_id)
            access.require_key_handler(actor, "download software")

            def attempt() -> DownloadLink:
                licence = self._licence(order)
                now = self._now()
                expires_at = now + DOWNLOAD_LINK_LIFETIME
                licence.record_link(
                    copied=copied,
                    version=version,
                    language=language,
                    bitness=bitness,
                    expires_at=expires_at,
                    user=actor.user,
                    now=now,
                )
                self._events.save(licence)
                return DownloadLink(
                    self._link_url(order_id, version, language, bitness, expires_at), expires_at
                )

            return self._retrying(attempt)

    def _link_url(
        self, order_id: UUID, version: str, language: str, bitness: int, expires_at: datetime
    ) -> str:
        expires = str(int(expires_at.timestamp()))
        signature = self._vault.sign_link(str(order_id), version, language, str(bitness), expires)
        path = "/".join(
            quote(part, safe="") for part in (str(order_id), version, language, str(bitness))
        )
        return f"{DOWNLOAD_BASE_URL}/{path}?expires={expires}&signature={signature}"

    # -- cancellation (R6–R9) --------------------------------------------------------------

    def cancellation_status(self, actor: Actor, order_id: UUID) -> CancellationStatus:
        actor = _actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        order = self._visible_order(actor, order_id)
        if not actor.is_partner_user:
            raise AccessDenied(f"{actor.user} may not ask about cancellation")
        return order.cancellation_status(self._now())

    def cancel(self, actor: Actor, order_id: UUID) -> Cancellation:
        """Cancel within the window: Cancelled, KeysRevoked and CreditIssued in one write."""
        actor = _actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        with self._command("cancel", actor, order_id=str(order_id)) as context:
            loaded = [self._visible_order(actor, order_id)]
            access.require_partner_role(actor, access.CANCELLERS, "cancel orders")

            def attempt() -> Cancellation:
                # The first attempt uses the order loaded for the checks; a retry reloads.
                order = loaded.pop() if loaded else self._visible_order(actor, order_id)
                licence = self._licence(order)
                now = self._now()
                credit = order.cancel(actor.user, now, self._policy)
                licence.revoke("cancelled", actor.user, now)
                self._events.save(order, licence)
                return Cancellation(
                    order_id=order_id,
                    credit=credit,
                    cancelled_at=now,
                    invoice_month=now.strftime("%Y-%m"),
                )

            cancellation = self._retrying(attempt)
            context["credit"] = str(cancellation.credit)
            return cancellation

    # -- refunds (R10) ---------------------------------------------------------------------

    def request_refund(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        reason: str,
        amount: Money,
        contact_name: str,
        contact_email: str,
        contact_phone: str,
        attachments: tuple[str, ...] = (),
        tenant_id: UUID | None = None,
        domain: str | None = None,
    ) -> UUID:
        """File a refund request for an order past its window; returns the request id."""
        actor = _actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        _validate.text("reason", reason)
        amount = _positive_money("amount", amount)
        _validate.text("contact_name", contact_name)
        if not _EMAIL.match(_validate.text("contact_email", contact_email)):
            raise InvalidInput("contact_email", "must look like local@domain")
        if not _PHONE.match(_validate.text("contact_phone", contact_phone)):
            raise InvalidInput("contact_phone", "must be a phone number")
        attachment_names = _validate.tuple_of("attachments", attachments, str)
        if tenant_id is not None:
            tenant_id = _validate.uuid("tenant_id", tenant_id)
        _validate.optional_text("domain", domain)

        with self._command("request_refund", actor, order_id=str(order_id)) as context:
            order = self._visible_order(actor, order_id)
            access.require_partner_role(actor, access.REFUND_REQUESTERS, "request refunds")
            if tenant_id is not None and tenant_id != order.tenant_id:
                raise InvalidInput("tenant_id", "is not the tenant of this order")
            if domain is not None:
                tenant = self._get(Tenant.id_for(order.tenant_id), Tenant)
                if tenant is None or tenant.customer.domain != domain:
                    raise InvalidInput("domain", "is not the domain of this order's tenant")
            _refund_within(amount, order.total, "the order total")
            now = self._now()
            status = order.cancellation_status(now)
            if not status.refund_request_possible:
                raise RefundNotPossible(
                    f"a refund needs a closed window; the order is {status.reason or 'cancellable'}"
                )
            _refund_within(amount, order.refundable, "what is left to refund")
            refund_id = uuid4()
            context["refund_id"] = str(refund_id)
            self._events.save(
                Refund.request(
                    refund_id=refund_id,
                    order_id=order_id,
                    partner_id=order.partner_id,
                    tenant_id=order.tenant_id,
                    amount=amount,
                    reason=reason,
                    contact_name=contact_name,
                    contact_email=contact_email,
                    contact_phone=contact_phone,
                    attachments=attachment_names,
                    user=actor.user,
                    now=now,
                )
            )
            return refund_id

    def resolve_refund(
        self, actor: Actor, refund_id: UUID, *, approve: bool, amount: Money | None = None
    ) -> RefundRequest:
        """Support approves (credit, and keys revoked for a whole refund) or declines."""
        actor = _actor(actor)
        refund_id = _validate.uuid("refund_id", refund_id)
        if not isinstance(approve, bool):
            raise InvalidInput("approve", "must be True or False")
        if amount is not None:
            amount = _positive_money("amount", amount)

        with self._command("resolve_refund", actor, refund_id=str(refund_id)) as context:
            refund = self._get(refund_id, Refund)
            if refund is None or not access.can_see(actor, refund.partner_id, refund.tenant_id):
                raise RefundNotFound(f"refund request {refund_id} not found")
            access.require_support(actor, "resolve refund requests")
            context["order_id"] = str(refund.order_id)

            def attempt() -> None:
                current = self._get(refund_id, Refund)
                assert current is not None
                now = self._now()
                if not approve:
                    current.decline(actor.user, now)
                    self._events.save(current)
                    return
                approved = current.amount if amount is None else amount
                order = self._visible_order(actor, current.order_id)
                _refund_within(approved, current.amount, "the requested amount")
                _refund_within(approved, order.refundable, "what is left to refund")
                current.approve(approved, actor.user, now)
                order.issue_credit(
                    approved, reason="refund", refund_id=refund_id, user=actor.user, now=now
                )
                licence = self._licence(order)
                if order.refundable == Money.zero(order.total.currency):
                    licence.revoke("refunded", actor.user, now)
                self._events.save(current, order, licence)

            self._retrying(attempt)
        self.catch_up()
        resolved = refund_requests.by_id(self._query, refund_id)
        assert resolved is not None, "the refund was recorded and the views caught up"
        return resolved

    def refunds(self, actor: Actor) -> list[RefundRequest]:
        """A partner's refund requests; support sees every partner's."""
        actor = _actor(actor)
        if actor.is_support:
            partner_id = None
        elif actor.partner_id is not None:
            partner_id = actor.partner_id
        else:
            raise AccessDenied(f"{actor.user} may not list refund requests")
        self.catch_up()
        return refund_requests.listing(self._query, partner_id)

    # -- views -----------------------------------------------------------------------------

    def software(self, actor: Actor, tenant_id: UUID) -> list[SoftwareItem]:
        """The customer's software list, cancelled orders included."""
        actor = _actor(actor)
        tenant_id = _validate.uuid("tenant_id", tenant_id)
        self._visible_tenant(actor, tenant_id)
        customer_admin = actor.is_customer_user and actor.has_any(*access.CUSTOMER_KEY_HANDLERS)
        if not (actor.is_partner_user or customer_admin):
            raise AccessDenied(f"{actor.user} may not read the software list")
        self.catch_up()
        return software_list.for_tenant(self._query, tenant_id)

    def activity_log(self, actor: Actor, start: date, end: date) -> list[ActivityEntry]:
        """R5: key views, downloads and link copies on the partner's orders, oldest first."""
        actor = _actor(actor)
        start_day, end_day = _validate.day_range(start, end)
        access.require_partner_role(actor, access.ACTIVITY_READERS, "read the activity log")
        assert actor.partner_id is not None
        self.catch_up()
        return activity_log.for_partner(self._query, actor.partner_id, start_day, end_day)

    def monthly_credits(self, actor: Actor, month: str) -> CreditStatement:
        """Credits issued in a UTC month (``"YYYY-MM"``), with totals per currency."""
        actor = _actor(actor)
        month = _validate.month("month", month)
        access.require_partner_role(actor, access.CREDIT_READERS, "read monthly credits")
        assert actor.partner_id is not None
        self.catch_up()
        return monthly_credits.for_month(self._query, actor.partner_id, month)
