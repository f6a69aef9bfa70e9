"""R15 poison-freedom: whatever sequence of commands the ledger accepts, the store stays readable.

Hypothesis drives sequences of commands at the edges of what is allowed:
text of 256 characters from every Unicode category but Cc and Cs (emoji,
right-to-left marks, byte-order marks, non-characters, private use, line
separators), every market and currency (0 to 4 decimals), amounts and
totals up to 10^12, quantities up to 100,000, terms up to a century, and a
clock anywhere from year 1000 to 8999. Some commands are refused by the
rules; none may raise anything but a `LedgerError`. After each sequence
every query answers, and at the end the store is opened again: every query
still answers, the views equal a rebuild and the audit chain verifies.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.countries import all_markets
from ledger.errors import LedgerError
from ledger.money import MAX_AMOUNT, minor_unit_exponents
from tests.support import QUIET, ManualClock, support

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SEQUENCES = {"memory": (150, 15), "sqlite": (100, 10), "postgres": (60, 5)}
PARTNERS = ("P1", "P\u202e2\U0001f4bc")

# -- values at the edges of what is accepted ------------------------------------------------

ODD_CHARACTERS = "\u202e\u200f\ufeff\uffff\ufffe\U0010ffff\U000e0001\u2028\u2029\U0001f600\u0301"
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=256).filter(
        str.strip
    ),
    st.text(st.sampled_from(ODD_CHARACTERS + "a"), min_size=1, max_size=20).map(lambda s: s + "x"),
    st.just("x" * 256),
    st.just("\U0001f600" * 256),
)
CURRENCIES = sorted(minor_unit_exponents())
MARKETS = sorted(all_markets())
INSTANTS = st.one_of(
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(8999, 12, 31), timezones=st.just(UTC)
    ),
    st.sampled_from(
        [
            datetime(1000, 1, 1, tzinfo=UTC),
            datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2026, 11, 2, 9, tzinfo=UTC),
        ]
    ),
)


@st.composite
def prices(draw: st.DrawFn) -> Money:
    currency = draw(st.sampled_from(CURRENCIES))
    scale = 10 ** minor_unit_exponents()[currency]
    minor = draw(st.one_of(st.integers(1, MAX_AMOUNT * scale), st.just(MAX_AMOUNT * scale)))
    return Money(Decimal(minor) / scale, currency)


@st.composite
def products(draw: st.DrawFn) -> Product:
    kind = draw(st.sampled_from(list(ProductKind)))
    downloads = kind in (ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION)
    term = draw(st.integers(1, 36_600)) if kind is ProductKind.SUBSCRIPTION else None
    return Product(
        product_id=draw(TEXT),
        sku_id=draw(TEXT),
        title=draw(TEXT),
        kind=kind,
        term_days=term,
        versions=tuple(draw(st.lists(TEXT, min_size=1, max_size=3, unique=True)))
        if downloads
        else (),
        languages=tuple(draw(st.lists(TEXT, min_size=1, max_size=3, unique=True)))
        if downloads
        else (),
        bitness=(32, 64) if downloads else (),
    )


# -- commands -------------------------------------------------------------------------------


@dataclass
class World:
    led: Ledger
    clock: ManualClock
    tenants: list[tuple[str, UUID]] = field(default_factory=list)
    orders: list[tuple[str, UUID, UUID, Product]] = field(default_factory=list)
    refunds: list[UUID] = field(default_factory=list)
    months: set[str] = field(default_factory=set)
    accepted: int = 0
    refused: int = 0

    def agent(self, partner_id: str) -> Actor:
        return Actor(user="\U0001f9fe" * 256, roles={Role.ADMIN_AGENT}, partner_id=partner_id)


@dataclass(frozen=True)
class Step:
    kind: str
    data: dict[str, Any]


STEPS = st.one_of(
    st.builds(
        lambda p, tid, domain, name, market: Step(
            "add_customer", {"partner": p, "tenant": tid, "c": (domain, name, market)}
        ),
        st.sampled_from(PARTNERS),
        st.uuids(),
        TEXT,
        TEXT,
        st.sampled_from(MARKETS),
    ),
    st.builds(
        lambda i, product, q, price, key: Step(
            "purchase", {"i": i, "product": product, "q": q, "price": price, "key": key}
        ),
        st.integers(0, 10**6),
        products(),
        st.one_of(st.integers(1, 100_000), st.just(1)),
        prices(),
        st.one_of(st.none(), TEXT),
    ),
    st.builds(lambda i: Step("view_key", {"i": i}), st.integers(0, 10**6)),
    st.builds(
        lambda i, copy: Step("download", {"i": i, "copy": copy}),
        st.integers(0, 10**6),
        st.booleans(),
    ),
    st.builds(lambda i: Step("cancel", {"i": i}), st.integers(0, 10**6)),
    st.builds(
        lambda i, reason, whole, attachments: Step(
            "request_refund", {"i": i, "reason": reason, "whole": whole, "attachments": attachments}
        ),
        st.integers(0, 10**6),
        TEXT,
        st.booleans(),
        st.lists(TEXT, max_size=100),
    ),
    st.builds(
        lambda i, approve: Step("resolve_refund", {"i": i, "approve": approve}),
        st.integers(0, 10**6),
        st.booleans(),
    ),
    st.builds(lambda at: Step("clock", {"at": at}), INSTANTS),
    st.builds(lambda days: Step("wait", {"days": days}), st.integers(0, 40)),
)


def run(world: World, step: Step) -> None:
    led, d = world.led, step.data
    if step.kind == "clock":
        world.clock.set(d["at"])
        return
    if step.kind == "wait":
        latest = datetime(8999, 12, 31, tzinfo=UTC)
        world.clock.set(min(world.clock.now + timedelta(days=d["days"]), latest))
        return
    try:
        if step.kind == "add_customer":
            domain, name, market = d["c"]
            buyer = Customer(tenant_id=d["tenant"], domain=domain, name=name, market=market)
            led.add_customer(world.agent(d["partner"]), buyer)
            world.tenants.append((d["partner"], d["tenant"]))
        elif step.kind == "purchase" and world.tenants:
            partner_id, tenant_id = world.tenants[d["i"] % len(world.tenants)]
            order_id = led.purchase(
                world.agent(partner_id), tenant_id, d["product"], d["q"], d["price"], d["key"]
            )
            world.orders.append((partner_id, tenant_id, order_id, d["product"]))
        elif step.kind in ("view_key", "download", "cancel", "request_refund") and world.orders:
            partner_id, tenant_id, order_id, item = world.orders[d["i"] % len(world.orders)]
            agent = world.agent(partner_id)
            if step.kind == "view_key":
                assert len(led.view_key(agent, order_id)) == 29
            elif step.kind == "download" and item.versions:
                handout = led.copy_link if d["copy"] else led.download
                handout(agent, order_id, item.versions[-1], item.languages[0], 64)
            elif step.kind == "cancel":
                world.months.add(led.cancel(agent, order_id).invoice_month)
            elif step.kind == "request_refund":
                [item_row] = [i for i in led.software(agent, tenant_id) if i.order_id == order_id]
                currency = item_row.total.currency
                amount = (
                    item_row.total - item_row.credited
                    if d["whole"]
                    else Money.from_minor_units(1, currency)
                )
                refund_id = led.request_refund(
                    agent,
                    order_id,
                    reason=d["reason"],
                    amount=amount,
                    contact_name=d["reason"],
                    contact_email="\u00e9l\u00e8ve@\u00e9cole.example",
                    contact_phone="+31 (20) 123-45.67",
                    attachments=tuple(d["attachments"]),
                )
                world.refunds.append(refund_id)
        elif step.kind == "resolve_refund" and world.refunds:
            refund_id = world.refunds[d["i"] % len(world.refunds)]
            resolved = led.resolve_refund(support(), refund_id, approve=d["approve"])
            if resolved.resolved_at is not None:
                world.months.add(resolved.resolved_at.strftime("%Y-%m"))
        else:
            return
        world.accepted += 1
    except LedgerError:
        world.refused += 1


def every_query_answers(world: World) -> None:
    led = world.led
    for partner_id, tenant_id in world.tenants[-5:]:
        led.software(world.agent(partner_id), tenant_id)
        led.software(Actor("c", {Role.GLOBAL_ADMIN}, tenant_id=tenant_id), tenant_id)
    for partner_id in PARTNERS:
        auditor = Actor("g", {Role.GLOBAL_ADMIN}, partner_id=partner_id)
        led.activity_log(auditor, date.min, date.max)
        for month in sorted(world.months)[-3:]:
            led.monthly_credits(auditor, month)
        led.refunds(auditor)
        led.customers(auditor)
    led.refunds(support())
    for partner_id, _, order_id, _ in world.orders[-3:]:
        led.cancellation_status(world.agent(partner_id), order_id)
    led.audit.digest()


@pytest.fixture
def world(store_url: str) -> Iterator[tuple[str, World, bytes]]:
    secret = os.urandom(32)
    clock = ManualClock()
    led = Ledger.open(store_url, clock=clock, secret_key=secret, logger=QUIET)
    state = World(led, clock)
    # A tenant with an order for each partner, so that every kind of step has work from the start.
    for n, partner_id in enumerate(PARTNERS):
        tenant_id = UUID(int=n + 1)
        buyer = Customer(tenant_id=tenant_id, domain="\u00e9.example", name="\u202eN", market="NL")
        led.add_customer(state.agent(partner_id), buyer)
        item = Product("p", "s", "t", ProductKind.PERPETUAL, None, ("v",), ("l",), (64,))
        order_id = led.purchase(state.agent(partner_id), tenant_id, item, 1, Money("1", "EUR"))
        state.tenants.append((partner_id, tenant_id))
        state.orders.append((partner_id, tenant_id, order_id, item))
    try:
        yield store_url, state, secret
    finally:
        led.close()


def test_r15_no_accepted_command_sequence_makes_the_store_unreadable(
    world: tuple[str, World, bytes], request: pytest.FixtureRequest
) -> None:
    url, state, secret = world
    kind = url.split(":", 1)[0].replace("postgresql", "postgres")
    ci, local = SEQUENCES[kind]

    @settings(
        max_examples=ci if IN_CI else local,
        suppress_health_check=list(HealthCheck),
        deadline=None,
        database=None,
    )
    @given(steps=st.lists(STEPS, min_size=1, max_size=12))
    def sequences(steps: list[Step]) -> None:
        for step in steps:
            run(state, step)
        every_query_answers(state)

    sequences()
    assert state.accepted > 0
    request.node.user_properties.append(
        (
            "fuzz",
            f"poison-freedom on {kind}: {state.accepted} commands accepted at the edges,"
            f" {state.refused} refused by the rules, every query answered after each sequence",
        )
    )
    if kind != "memory":
        state.led.close()
        state.led = Ledger.open(url, clock=state.clock, secret_key=secret, logger=QUIET)
    every_query_answers(state)
    assert state.led.audit.rebuild().matches
    assert state.led.audit.verify().ok
    for format in ("jsonl", "csv"):
        assert state.led.audit.export_events(io.StringIO(), format) > 0
        state.led.audit.export_activity(io.StringIO(), date.min, date.max, format)
