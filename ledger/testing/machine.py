"""`LedgerStateMachine`: hypothesis drives a ledger and the reference model side by side.

Subclass it to test your own programme::

    class SevenDaySubscriptions(LedgerStateMachine):
        policy = CancellationPolicy.seven_day_subscriptions()
        reference = ReferenceRules({PERPETUAL: timedelta(days=30), SUBSCRIPTION: timedelta(days=7)})

    TestSevenDaySubscriptions = SevenDaySubscriptions.TestCase   # pytest collects this

Hooks: ``policy`` or `make_policy` (what the ledger runs), ``reference`` (what the
model expects; by default R8 credits with the policy's windows, because windows are
configuration, R6), ``model_class`` or `make_model` (a model of your own), ``store``
(``"memory"``, ``"sqlite"``, a ``sqlite:///`` or ``postgresql://`` URL; each example
gets a fresh store there, see `scratch_store`), `open_ledger`, ``rebuild_views``
(compare views with a rebuild after every step; on by default), `clock_targets` (the
moments after a purchase the clock aims at) and `product_shapes` (what is bought).

The calendar is the user's: ``start`` fixes where every example's clock
starts; left at None, each example starts at one of `dates.CALENDAR_STARTS`
(leap days, month and year ends) or anywhere in 2024–2035 (`starts`), and
the clock also aims at the month ends and leap days inside each order's
horizon (`calendar_targets`). ``next_policy`` (and ``next_reference``, what
the model expects of it) makes the machine switch policy part-way, as a
deployment would (R20): orders bought before keep the policy they were
bought under, and every check goes on covering them.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar
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

from ledger.money import Money
from ledger.policies.cancellation import CancellationPolicy
from ledger.testing import draws, shapes
from ledger.testing.aiming import ClockAiming
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
    SwitchPolicy,
    ViewKey,
    Wait,
)
from ledger.testing.deployment import PolicyDeployment
from ledger.testing.draws import WHO
from ledger.testing.harness import Harness, Outcome
from ledger.testing.model import ReferenceModel, ReferenceRules
from ledger.testing.shapes import ProductShape
from ledger.testing.shrinking import SHRINK_SECONDS, test_case_for
from ledger.testing.stores import scratch_store
from ledger.testing.strategies import customers
from ledger.testing.targets import US, OrderTargets
from ledger.values import Actor, Customer, ProductKind

__all__ = ["WHO", "LedgerStateMachine"]


class LedgerStateMachine(PolicyDeployment, ClockAiming, RuleBasedStateMachine):
    """Random command sequences against a `Ledger` and a `ReferenceModel`, compared each step."""

    policy: ClassVar[CancellationPolicy] = CancellationPolicy.default()
    reference: ClassVar[ReferenceRules | None] = None
    model_class: ClassVar[type[ReferenceModel]] = ReferenceModel
    store: ClassVar[str] = "memory"
    rebuild_views: ClassVar[bool] = True
    start: ClassVar[datetime | None] = None
    next_policy: ClassVar[CancellationPolicy | None] = None
    next_reference: ClassVar[ReferenceRules | None] = None
    shrink_seconds: ClassVar[float] = SHRINK_SECONDS

    tenants = Bundle("tenants")
    orders = Bundle("orders")
    refunds = Bundle("refunds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self._policy = self.make_policy()
        self._earlier: tuple[CancellationPolicy, ...] = ()
        with contextlib.ExitStack() as opening:
            # If opening fails, the scratch store is removed at once, not left behind.
            self._url = opening.enter_context(scratch_store(self.store))
            self.ledger = self.open_ledger(self._url, self.clock)
            # Whichever ledger is open at the end (one opened again after a switch, too).
            opening.callback(lambda: self.ledger.close())  # noqa: PLW0108 (the ledger then)
            self._exit = opening.pop_all()
        self.model = self.make_model()
        self.harness = Harness(self.ledger, self.clock, self.model, rebuild=self.rebuild_views)
        self.harness.driver.switch = self.switch_policy
        self.harness.machine = type(self)
        self._counter = 0
        self._last_keyed_purchase: Purchase | None = None
        self._shapes: st.SearchStrategy[ProductShape] | None = None
        # Each order's clock targets, worked out once.
        self._targets: dict[UUID, OrderTargets] = {}

    @classmethod
    def _to_test_case(cls) -> Any:
        """``Machine.TestCase``: hypothesis's, told as one story and shrunk within
        ``shrink_seconds`` (`shrinking.test_case_for`)."""
        if "_ledger_test_case" not in cls.__dict__:
            cls._ledger_test_case = test_case_for(cls, cls.shrink_seconds)
        return cls.__dict__["_ledger_test_case"]

    # -- hooks ---------------------------------------------------------------------------

    def make_policy(self) -> CancellationPolicy:
        """The policy the ledger runs: ``policy``, unless a subclass builds its own here."""
        return self.policy

    def make_model(self) -> ReferenceModel:
        rules = self.reference or ReferenceRules.windows_of(self._policy)
        return self.model_class(rules)

    def product_shapes(self) -> st.SearchStrategy[ProductShape]:
        """What the purchase rule buys: a `ProductShape` (kind and term) strategy.

        By default every kind, and subscriptions with terms of a day less,
        the same and a day more than each boundary the policy and the model
        announce for a long term, usual terms (1 to 1095 days) and any term
        up to three years. Add shapes of your own::

            def product_shapes(self):
                return super().product_shapes() | st.just(ProductShape(SUBSCRIPTION, 90))
        """
        subscription = ProductKind.SUBSCRIPTION
        announced = {
            *self._policy.boundaries(subscription, shapes.LONG_TERM_DAYS),
            *self.model.rules.boundaries(subscription, shapes.LONG_TERM_DAYS),
        }
        return shapes.product_shapes(shapes.terms_around(announced))

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
        return tenant.partner_id if tenant is not None else draws.PARTNERS[0]

    def _shapes_to_buy(self) -> st.SearchStrategy[ProductShape]:
        if self._shapes is None:
            self._shapes = self.product_shapes()
        return self._shapes

    def _order_place(self, alias: str) -> tuple[str, UUID]:
        order = self.model.orders.get(self.harness.driver.order_id(alias))
        if order is None:
            return draws.PARTNERS[0], uuid4()
        return order.partner_id, order.tenant_id

    def actor(self, who: str, partner_id: str, tenant_id: UUID) -> Actor:
        """The actor a `WHO` slot names, for an object of ``partner_id``/``tenant_id``."""
        return draws.actor_for(who, partner_id, tenant_id)

    # -- rules ---------------------------------------------------------------------------

    @initialize(
        target=tenants, customer=customers(draws.MARKETS, names=draws.NAMES), data=st.data()
    )
    def first_customer(self, customer: Customer, data: st.DataObject) -> UUID:
        """Set the clock to the example's start (nothing is recorded before), add a customer."""
        self.clock.set(self.start if self.start is not None else data.draw(self.starts()))
        self.run(AddCustomer(self.actor("agent", draws.PARTNERS[0], customer.tenant_id), customer))
        return customer.tenant_id

    @precondition(lambda self: self.next_policy is not None and not self._earlier)
    @rule()
    def deploy_the_next_policy(self) -> None:
        """Switch to ``next_policy`` part-way (R20): once per example."""
        self.run(SwitchPolicy(self.next_policy.policy_id if self.next_policy else ""))

    @precondition(lambda self: len(self.model.tenants) < draws.MAX_TENANTS)
    @rule(
        target=tenants,
        customer=customers(draws.MARKETS, names=draws.NAMES),
        partner=st.sampled_from(draws.PARTNERS),
        who=st.sampled_from(WHO),
        again=st.sampled_from((None, None, None, "same partner", "other partner")),
    )
    def add_customer(self, customer: Customer, partner: str, who: str, again: str | None) -> object:
        """A new tenant, or (``again``) one already known, by its owner or the other partner."""
        if again is not None:
            known = next(iter(self.model.tenants.values()))
            customer, partner = known.customer, known.partner_id
            if again == "other partner":
                partner = next(p for p in draws.PARTNERS if p != partner)
        outcome = self.run(AddCustomer(self.actor(who, partner, customer.tenant_id), customer))
        return multiple() if outcome.error or again else customer.tenant_id

    @rule(
        target=orders,
        tenant_id=tenants,
        shape=draws.SHAPES,
        quantity=draws.QUANTITIES,
        unit_price=draws.UNIT_PRICES,
        price=st.sampled_from(shapes.PRICE_PLANS),
        who=st.sampled_from(("agent",) * 4 + ("admin", "admin", "sales", "customer", "rival")),
        # A shared key ("k1") most often meets different parameters (IdempotencyConflict),
        # which ends the purchase; a key of its own lets the order go on to the rules.
        idempotency_key=st.sampled_from((None, None, None, "k1", "a new key")),
        activation=st.sampled_from(("MAK",) * 9 + ("KMS",)),
        retry=st.sampled_from((None,) * 6 + ("as it was", "another quantity", "another price")),
    )
    def purchase(
        self,
        tenant_id: UUID,
        shape: ProductShape,
        quantity: int,
        unit_price: Money,
        price: str,
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
            outcome = self.run(replace(draws.retried(last, retry), order=alias))
            return multiple() if outcome.error else alias
        product = shape.product()
        unit_price = shapes.price_for(price, unit_price, product.term_days)
        if idempotency_key == "a new key":
            idempotency_key = f"key-{alias}"
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
        | st.timedeltas(min_value=US, max_value=timedelta(days=10)),
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

    @precondition(lambda self: bool(self._upcoming()))
    @rule(
        which_order=st.integers(0, 3) | draws.ANY_INDEX,
        which_target=st.integers(0, 3) | draws.ANY_INDEX,
        own=st.booleans(),
        then=st.sampled_from((None, "cancel", "cancel", "ask")),
    )
    def move_clock_to_a_boundary(
        self, which_order: int, which_target: int, own: bool, then: str | None
    ) -> None:
        """Land 1 µs before or at one of an open order's `clock_targets` (with ``own``, one
        of its policy's or model's own thresholds, if it has any); then, perhaps, cancel
        it there or ask its status, by its partner's admin agent.

        Orders count from the oldest open one and targets from the next one
        ahead, so a shrunk example names the nearest.
        """
        upcoming = self._upcoming()
        alias, ahead = upcoming[which_order % len(upcoming)]
        self.run(Wait(ahead.pick(which_target, own=own) - self.clock()))
        if then is not None:
            agent = self.actor("agent", *self._order_place(alias))
            self.run(
                Cancel(agent, alias) if then == "cancel" else AskCancellationStatus(agent, alias)
            )

    @rule(
        target=orders,
        tenant_id=tenants,
        batch=st.lists(
            st.tuples(
                draws.SHAPES,
                draws.QUANTITIES,
                draws.UNIT_PRICES,
                st.sampled_from(shapes.PROBE_PRICE_PLANS),
            ),
            min_size=1,
            max_size=4,
        ),
        which_target=draws.ANY_INDEX,
        own=st.booleans(),
        then=st.sampled_from(("cancel", "cancel", "cancel", "ask")),
    )
    def probe_a_boundary(
        self,
        tenant_id: UUID,
        batch: list[tuple[ProductShape, int, Money, str]],
        which_target: int,
        own: bool,
        then: str,
    ) -> object:
        """Buy a batch of one to four orders at once (by the tenant's admin agent),
        move the clock to one of the first one's `clock_targets`, and cancel each there
        or ask its status: the shortest story that shows a threshold, told with
        several shapes and prices at the same age, a few times in every example
        whatever else hypothesis draws."""
        agent = self.actor("agent", self._owner(tenant_id), tenant_id)
        bought = []
        for shape, quantity, drawn, price in batch:
            alias = self._alias("o")
            product = shape.product()
            unit_price = shapes.price_for(price, drawn, product.term_days)
            if not self.run(Purchase(agent, tenant_id, product, quantity, unit_price, alias)).error:
                bought.append(alias)
        if not bought:
            return multiple()
        targets = self._targets_of(self.model.orders[self.harness.driver.order_id(bought[0])])
        if targets.every:
            self.run(Wait(targets.pick(which_target, own=own) - self.clock()))
        for alias in bought:
            self.run(
                Cancel(agent, alias) if then == "cancel" else AskCancellationStatus(agent, alias)
            )
        return multiple(*bought)

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

    @rule(order=orders, who=st.sampled_from(draws.AGENT_MOSTLY))
    def cancel(self, order: str, who: str) -> None:
        self.run(Cancel(self.actor(who, *self._order_place(order)), order))

    @rule(
        target=refunds,
        order=orders,
        who=st.sampled_from(draws.AGENT_MOSTLY),
        amount=st.sampled_from(draws.REFUND_AMOUNTS),
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
        refund = draws.refund_amount(amount, found, other_currency=other_currency)
        actor = self.actor(who, *self._order_place(order))
        outcome = self.run(RequestRefund(actor, order, refund, alias))
        if outcome.error:
            return multiple()
        if support is not None:
            vendor = self.actor("support", draws.PARTNERS[0], uuid4())
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
        partner, tenant = draws.PARTNERS[0], uuid4()
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
