"""`LedgerStateMachine`: hypothesis drives a ledger and the reference model side by side.

Subclass it to test your own programme::

    class SevenDaySubscriptions(LedgerStateMachine):
        policy = CancellationPolicy.seven_day_subscriptions()
        reference = ReferenceRules({PERPETUAL: timedelta(days=30), SUBSCRIPTION: timedelta(days=7)})

    TestSevenDaySubscriptions = SevenDaySubscriptions.TestCase   # pytest collects this

Hooks: ``policy`` or `make_policy` (what the ledger runs), ``reference`` (what the model expects;
by default R8 credits with the policy's windows, because windows are
configuration, R6), ``model_class`` or `make_model` (a model of your own), ``store`` (``"memory"``,
``"sqlite"``, a ``sqlite:///`` or ``postgresql://`` URL; each example gets a
fresh store there, see `scratch_store`),
`open_ledger`, and ``rebuild_views`` (compare views with a rebuild after
every step; on by default).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import ClassVar
from uuid import UUID, uuid4

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ledger.application import Ledger
from ledger.money import Money
from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.clock import ManualClock
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
from ledger.testing.harness import Harness, Outcome
from ledger.testing.model import ReferenceModel, ReferenceRules
from ledger.testing.stores import open_test_ledger, scratch_store
from ledger.testing.strategies import customers, markets, unit_prices
from ledger.values import Actor, Customer, Product, ProductKind, Role

__all__ = ["WHO", "LedgerStateMachine"]

PARTNERS = ("P1", "P2")
# Enough tenants for isolation to matter; more only slow every step's checks.
MAX_TENANTS = 4
US = timedelta(microseconds=1)

#: Who acts, relative to the order or tenant in hand. The right actor comes up
#: most often so that sequences get past the access checks to the rules.
WHO = ("agent",) * 6 + ("customer", "customer", "admin", "sales", "rival", "stranger", "support")
#: For cancelling and refund requests, which only the partner's admin agent may do.
AGENT_MOSTLY = ("agent",) * 8 + ("admin", "customer", "rival", "support")

_ROLE_OF = {
    "agent": Role.ADMIN_AGENT,
    "admin": Role.GLOBAL_ADMIN,
    "sales": Role.SALES_AGENT,
}
CANCELLABLE = (ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION)
NEVER_CANCELLABLE = (ProductKind.SOFTWARE_PLAN, ProductKind.AZURE_RESERVATION)
REFUND_AMOUNTS = (
    "total",
    "total",
    "half",
    "third",
    "twice the total",
    "what is left",
    "what is left",
    "one unit more than is left",
)
# Currencies with 2, 0 and 3 decimals, so rounding is exercised at every scale.
CURRENCIES = ("EUR", "JPY", "KWD")
# Markets: taxed inclusively (AU), R1-restricted (CN, XK) and ordinary ones.
MARKETS = st.one_of(st.sampled_from(("NL", "AU", "BR", "CN", "XK", "US")), markets())


class LedgerStateMachine(RuleBasedStateMachine):
    """Random command sequences against a `Ledger` and a `ReferenceModel`, compared each step."""

    policy: ClassVar[CancellationPolicy] = CancellationPolicy.default()
    reference: ClassVar[ReferenceRules | None] = None
    model_class: ClassVar[type[ReferenceModel]] = ReferenceModel
    store: ClassVar[str] = "memory"
    rebuild_views: ClassVar[bool] = True

    tenants = Bundle("tenants")
    orders = Bundle("orders")
    refunds = Bundle("refunds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        with contextlib.ExitStack() as opening:
            # If opening fails, the scratch store is removed at once, not left behind.
            url = opening.enter_context(scratch_store(self.store))
            self.ledger = opening.enter_context(self.open_ledger(url, self.clock))
            self._exit = opening.pop_all()
        self.model = self.make_model()
        self.harness = Harness(self.ledger, self.clock, self.model, rebuild=self.rebuild_views)
        self._counter = 0
        self._last_keyed_purchase: Purchase | None = None

    # -- hooks ---------------------------------------------------------------------------

    def make_policy(self) -> CancellationPolicy:
        """The policy the ledger runs: ``policy``, unless a subclass builds its own here."""
        return self.policy

    def open_ledger(self, url: str, clock: ManualClock) -> Ledger:
        """The ledger under test; override to pass more options to `Ledger.open`."""
        return open_test_ledger(url, clock, self.make_policy())

    def make_model(self) -> ReferenceModel:
        rules = self.reference or ReferenceRules.windows_of(self.make_policy())
        return self.model_class(rules)

    def teardown(self) -> None:
        self._exit.close()

    # -- plumbing ------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return self.harness.steps

    def run(self, command: Command) -> Outcome:
        return self.harness.step(command)

    def _alias(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _owner(self, tenant_id: UUID) -> str:
        tenant = self.model.tenants.get(tenant_id)
        return tenant.partner_id if tenant is not None else PARTNERS[0]

    def _order_place(self, alias: str) -> tuple[str, UUID]:
        order = self.model.orders.get(self.harness.driver.order_id(alias))
        if order is None:
            return PARTNERS[0], uuid4()
        return order.partner_id, order.tenant_id

    def actor(self, who: str, partner_id: str, tenant_id: UUID) -> Actor:
        """The actor a `WHO` slot names, for an object of ``partner_id``/``tenant_id``."""
        if who in _ROLE_OF:
            return Actor(user=who, roles={_ROLE_OF[who]}, partner_id=partner_id)
        if who == "rival":
            other = next(p for p in PARTNERS if p != partner_id)
            return Actor(user="rival", roles={Role.ADMIN_AGENT}, partner_id=other)
        if who == "customer":
            return Actor(user="customer", roles={Role.GLOBAL_ADMIN}, tenant_id=tenant_id)
        if who == "stranger":
            return Actor(user="stranger", roles={Role.GLOBAL_ADMIN}, tenant_id=uuid4())
        return Actor(user="support", roles={Role.SUPPORT})

    # -- rules ---------------------------------------------------------------------------

    @initialize(target=tenants, customer=customers(MARKETS))
    def first_customer(self, customer: Customer) -> UUID:
        self.run(AddCustomer(self.actor("agent", PARTNERS[0], customer.tenant_id), customer))
        return customer.tenant_id

    @precondition(lambda self: len(self.model.tenants) < MAX_TENANTS)
    @rule(
        target=tenants,
        customer=customers(MARKETS),
        partner=st.sampled_from(PARTNERS),
        who=st.sampled_from(WHO),
        again=st.sampled_from((None, None, None, "same partner", "other partner")),
    )
    def add_customer(self, customer: Customer, partner: str, who: str, again: str | None) -> object:
        """A new tenant, or (``again``) one already known, by its owner or the other partner."""
        if again is not None:
            known = next(iter(self.model.tenants.values()))
            customer, partner = known.customer, known.partner_id
            if again == "other partner":
                partner = next(p for p in PARTNERS if p != partner)
        outcome = self.run(AddCustomer(self.actor(who, partner, customer.tenant_id), customer))
        return multiple() if outcome.error or again else customer.tenant_id

    @rule(
        target=orders,
        tenant_id=tenants,
        # Cancellable kinds twice as often: they carry most of the rules.
        kind=st.sampled_from(CANCELLABLE * 2 + NEVER_CANCELLABLE),
        # Terms of 2 and 4 days with odd small prices make exact halves for R8's rounding.
        term_days=st.sampled_from((1, 2, 4, 7, 30, 31, 365)) | st.integers(1, 1095),
        quantity=st.integers(1, 100_000) | st.integers(1, 5),
        unit_price=unit_prices(st.sampled_from(CURRENCIES))
        | st.builds(Money.from_minor_units, st.sampled_from((1, 5, 15, 25)), st.just("EUR")),
        who=st.sampled_from(("agent",) * 4 + ("admin", "admin", "sales", "customer", "rival")),
        idempotency_key=st.sampled_from((None, None, None, "k1", "k2")),
        activation=st.sampled_from(("MAK",) * 9 + ("KMS",)),
        retry=st.sampled_from((None,) * 6 + ("as it was", "another quantity", "another price")),
    )
    def purchase(
        self,
        tenant_id: UUID,
        kind: ProductKind,
        term_days: int,
        quantity: int,
        unit_price: Money,
        who: str,
        idempotency_key: str | None,
        activation: str,
        retry: str | None,
    ) -> object:
        """Buy; or (``retry``) send the last keyed purchase again, as it was or with
        one parameter changed, the two cases R12 tells apart."""
        alias = self._alias("o")
        last = self._last_keyed_purchase
        if retry is not None and last is not None:
            if retry == "another quantity":
                last = replace(last, quantity=last.quantity % 100_000 + 1)
            elif retry == "another price":
                price = last.unit_price
                last = replace(
                    last, unit_price=Money.from_minor_units(price.minor_units + 1, price.currency)
                )
            outcome = self.run(replace(last, order=alias))
            return multiple() if outcome.error else alias
        downloads = kind is not ProductKind.AZURE_RESERVATION
        product = Product(
            product_id=f"PRD-{kind.value}",
            sku_id="0001",
            title=kind.value.replace("_", " ").title(),
            kind=kind,
            term_days=term_days if kind is ProductKind.SUBSCRIPTION else None,
            versions=("2024",) if downloads else (),
            languages=("en-US", "nl-NL") if downloads else (),
            bitness=(64,) if downloads else (),
        )
        actor = self.actor(who, self._owner(tenant_id), tenant_id)
        command = Purchase(
            actor, tenant_id, product, quantity, unit_price, alias, idempotency_key, activation
        )
        if idempotency_key is not None:
            self._last_keyed_purchase = command
        outcome = self.run(command)
        return multiple() if outcome.error else alias

    @rule(
        delta=st.sampled_from((US, timedelta(hours=1), timedelta(days=1), timedelta(days=6)))
        | st.integers(1, 10 * 86_400 * 10**6).map(lambda us: timedelta(microseconds=us)),
        order=st.none() | orders,
        offset=st.sampled_from((-US, timedelta(0), US, -timedelta(days=1))),
    )
    def move_clock(self, delta: timedelta, order: str | None, offset: timedelta) -> None:
        """Wait ``delta``; or, given an order, land next to its window's end, where
        off-by-one rules break (``offset`` before or after the deadline)."""
        found = (
            None if order is None else self.model.orders.get(self.harness.driver.order_id(order))
        )
        if found is not None and found.deadline is not None:
            target = found.deadline + offset
            if target > self.clock():
                delta = target - self.clock()
        self.run(Wait(delta))

    @rule(order=orders, who=st.sampled_from(WHO))
    def view_key(self, order: str, who: str) -> None:
        self.run(ViewKey(self.actor(who, *self._order_place(order)), order))

    @rule(
        order=orders,
        who=st.sampled_from(WHO),
        copy=st.booleans(),
        version=st.sampled_from(("2024", "2024", "1999")),
        bitness=st.sampled_from((64, 64, 32)),
    )
    def download(self, order: str, who: str, copy: bool, version: str, bitness: int) -> None:
        actor = self.actor(who, *self._order_place(order))
        self.run(Download(actor, order, version, "en-US", bitness, copy))

    @rule(order=orders, who=st.sampled_from(WHO))
    def ask_cancellation_status(self, order: str, who: str) -> None:
        self.run(AskCancellationStatus(self.actor(who, *self._order_place(order)), order))

    @rule(order=orders, who=st.sampled_from(AGENT_MOSTLY))
    def cancel(self, order: str, who: str) -> None:
        self.run(Cancel(self.actor(who, *self._order_place(order)), order))

    @rule(
        target=refunds,
        order=orders,
        who=st.sampled_from(AGENT_MOSTLY),
        amount=st.sampled_from(REFUND_AMOUNTS),
        other_currency=st.booleans() | st.just(False),
        past_the_window=st.booleans(),
        support=st.sampled_from((None, None, "approves", "declines")),
    )
    def request_refund(
        self,
        order: str,
        who: str,
        amount: str,
        other_currency: bool,
        past_the_window: bool,
        support: str | None,
    ) -> object:
        """Ask for a share of the total or of what is left to refund, or one minor unit
        more than is left (the boundary). With ``past_the_window``, first wait until
        the order's window has closed; with ``support``, support answers at once."""
        alias = self._alias("r")
        found = self.model.orders.get(self.harness.driver.order_id(order))
        deadline = None if found is None else found.deadline
        if past_the_window and deadline is not None and deadline > self.clock():
            self.run(Wait(deadline - self.clock()))
        total = found.total if found is not None else Money("100.00", "EUR")
        left = found.refundable if found is not None else total
        minor = {
            "total": total.minor_units,
            "half": total.minor_units // 2,
            "third": total.minor_units // 3,
            "twice the total": total.minor_units * 2,
            "what is left": left.minor_units,
            "one unit more than is left": left.minor_units + 1,
        }[amount]
        currency = total.currency
        if other_currency:
            currency = next(c for c in CURRENCIES if c != currency)
        refund = Money.from_minor_units(max(minor, 1), currency)
        actor = self.actor(who, *self._order_place(order))
        outcome = self.run(RequestRefund(actor, order, refund, alias))
        if outcome.error:
            return multiple()
        if support is not None:
            vendor = self.actor("support", PARTNERS[0], uuid4())
            self.run(ResolveRefund(vendor, alias, approve=support == "approves"))
        return alias

    @rule(
        refund=refunds,
        who=st.sampled_from(("support", "support", "support", "agent", "rival")),
        approve=st.booleans(),
        part=st.sampled_from((None, None, (1, 2), (2, 1))),
    )
    def resolve_refund(
        self, refund: str, who: str, approve: bool, part: tuple[int, int] | None
    ) -> None:
        """Support approves as requested, half of it, or (wrongly) twice; or declines."""
        found = self.model.refunds.get(self.harness.driver.refund_id(refund))
        amount = None
        partner, tenant = PARTNERS[0], uuid4()
        if found is not None:
            partner, tenant = found.partner_id, found.tenant_id
            if part is not None:
                requested = found.amount
                minor = max(1, requested.minor_units * part[0] // part[1])
                amount = Money.from_minor_units(minor, requested.currency)
        actor = self.actor(who, partner, tenant)
        self.run(ResolveRefund(actor, refund, approve, amount))

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def ledger_agrees_with_the_model(self) -> None:
        self.harness.check()
