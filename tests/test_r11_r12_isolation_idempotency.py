"""R11 (visibility and isolation) and R12 (idempotent purchases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.errors import (
    AccessDenied,
    CustomerConflict,
    IdempotencyConflict,
    OrderNotFound,
)
from tests.support import (
    AGENT,
    START,
    ManualClock,
    add_tenant,
    buy,
    customer,
    customer_admin,
    eur,
    partner,
    product,
    tenant_with_order,
)

AUDITOR = partner("gina", Role.GLOBAL_ADMIN)
OTHER_AGENT = partner("otto", partner_id="P2")
OTHER_ALL_ROLES = Actor(
    user="olga",
    roles={
        Role.ADMIN_AGENT,
        Role.SALES_AGENT,
        Role.GLOBAL_ADMIN,
        Role.ACCOUNT_ADMIN,
        Role.REFERRAL_ADMIN,
        Role.MARKETING_CONTENT_ADMIN,
    },
    partner_id="P2",
)
WINDOW = timedelta(days=30)


def _snapshot(led: Ledger, tid: UUID) -> tuple[Any, ...]:
    return (
        led.software(AGENT, tid),
        led.activity_log(AUDITOR, start=date(2000, 1, 1), end=date(2100, 1, 1)),
        led.monthly_credits(AUDITOR, "2026-11").lines,
        led.monthly_credits(AUDITOR, "2026-12").lines,
        led.refunds(AGENT),
    )


OrderCommand = Callable[[Ledger, Actor, UUID], object]

ORDER_COMMANDS: dict[str, OrderCommand] = {
    "view_key": lambda led, a, o: led.view_key(a, o),
    "download": lambda led, a, o: led.download(a, o, version="2024", language="en-US", bitness=64),
    "copy_link": lambda led, a, o: led.copy_link(
        a, o, version="2024", language="en-US", bitness=64
    ),
    "cancellation_status": lambda led, a, o: led.cancellation_status(a, o),
    "cancel": lambda led, a, o: led.cancel(a, o),
    "request_refund": lambda led, a, o: led.request_refund(
        a,
        o,
        reason="Customer never used it",
        amount=eur("10.00"),
        contact_name="Olga",
        contact_email="olga@p2.example",
        contact_phone="+31 20 123 4567",
    ),
}


# --------------------------------------------------------------------------- R11


@pytest.mark.parametrize("command", sorted(ORDER_COMMANDS))
@pytest.mark.parametrize("window_closed", [False, True])
def test_r11_another_partners_order_is_order_not_found_for_every_order_command(
    led: Ledger, clock: ManualClock, command: str, window_closed: bool
) -> None:
    tid, order_id = tenant_with_order(led)
    if window_closed:  # so that request_refund would be allowed to its owner
        clock.set(START + WINDOW + timedelta(days=1))
    before = _snapshot(led, tid)
    for actor in (OTHER_AGENT, OTHER_ALL_ROLES):
        with pytest.raises(OrderNotFound):
            ORDER_COMMANDS[command](led, actor, order_id)
    assert _snapshot(led, tid) == before


@pytest.mark.parametrize("command", sorted(ORDER_COMMANDS))
def test_r11_an_unknown_order_id_gives_the_same_error(
    led: Ledger, clock: ManualClock, command: str
) -> None:
    tid, _ = tenant_with_order(led)
    clock.set(START + WINDOW + timedelta(days=1))
    before = _snapshot(led, tid)
    with pytest.raises(OrderNotFound) as for_unknown:
        ORDER_COMMANDS[command](led, AGENT, uuid4())
    _, foreign = tenant_with_order(led, actor=OTHER_AGENT)
    with pytest.raises(OrderNotFound) as for_foreign:
        ORDER_COMMANDS[command](led, AGENT, foreign)
    assert type(for_unknown.value) is type(for_foreign.value)
    assert _snapshot(led, tid) == before


@pytest.mark.parametrize(
    "command", ["view_key", "download", "copy_link", "cancellation_status", "cancel"]
)
def test_r11_customer_user_of_another_tenant_gets_order_not_found(
    led: Ledger, command: str
) -> None:
    tid, order_id = tenant_with_order(led)
    same_partner_tenant = add_tenant(led)
    other_partner_tenant = add_tenant(led, actor=OTHER_AGENT)
    before = _snapshot(led, tid)
    for tenant in (same_partner_tenant, other_partner_tenant, uuid4()):
        with pytest.raises(OrderNotFound):
            ORDER_COMMANDS[command](led, customer_admin(tenant), order_id)
    assert _snapshot(led, tid) == before


def test_r11_software_list_is_only_for_the_owning_partner_and_the_tenant(led: Ledger) -> None:
    tid, order_id = tenant_with_order(led)
    other_tid = add_tenant(led)
    assert [i.order_id for i in led.software(customer_admin(tid), tid)] == [order_id]
    assert [i.order_id for i in led.software(partner("sal", Role.SALES_AGENT), tid)] == [order_id]
    for actor in (OTHER_AGENT, OTHER_ALL_ROLES, customer_admin(other_tid)):
        with pytest.raises(OrderNotFound):
            led.software(actor, tid)
    with pytest.raises(OrderNotFound):
        led.software(AGENT, uuid4())


def test_r11_partner_may_not_buy_for_another_partners_customer(led: Ledger) -> None:
    tid = add_tenant(led)
    with pytest.raises(OrderNotFound):
        led.purchase(
            OTHER_AGENT, tenant_id=tid, product=product(), quantity=1, unit_price=eur("1.00")
        )
    with pytest.raises(OrderNotFound):
        led.purchase(
            AGENT, tenant_id=uuid4(), product=product(), quantity=1, unit_price=eur("1.00")
        )
    assert led.software(AGENT, tid) == []


def test_r11_two_partners_each_register_the_same_tenant_and_see_only_their_own(
    led: Ledger,
) -> None:
    c = customer()
    led.add_customer(AGENT, c)
    led.add_customer(AGENT, c)  # the same details by the same partner: a no-op
    with pytest.raises(OrderNotFound):
        led.software(OTHER_AGENT, c.tenant_id)
    # Another partner registers the tenant for itself, with its own details: nothing tells
    # it that P1 registered the tenant before.
    theirs = Customer(tenant_id=c.tenant_id, domain="other.example", name="Other", market="DE")
    assert led.add_customer(OTHER_AGENT, theirs) == c.tenant_id
    with pytest.raises(CustomerConflict):  # only its own registration can conflict
        led.add_customer(OTHER_AGENT, c)
    with pytest.raises(CustomerConflict):
        led.add_customer(AGENT, theirs)
    mine = buy(led, c.tenant_id)
    other = buy(led, c.tenant_id, actor=OTHER_AGENT)
    assert [i.order_id for i in led.software(AGENT, c.tenant_id)] == [mine]
    assert [i.order_id for i in led.software(OTHER_AGENT, c.tenant_id)] == [other]
    # The tenant's own admin sees its orders from every partner that registered it.
    assert {i.order_id for i in led.software(customer_admin(c.tenant_id), c.tenant_id)} == {
        mine,
        other,
    }
    assert led.view_key(customer_admin(c.tenant_id), other)
    with pytest.raises(OrderNotFound):
        led.view_key(AGENT, other)


@pytest.mark.parametrize(
    ("actor_factory", "command"),
    [
        (lambda tid: partner("sal", Role.SALES_AGENT), "view_key"),
        (lambda tid: partner("gina", Role.GLOBAL_ADMIN), "download"),
        (lambda tid: partner("acc", Role.ACCOUNT_ADMIN), "copy_link"),
        (lambda tid: partner("gina", Role.GLOBAL_ADMIN), "cancel"),
        (customer_admin, "cancel"),
        (customer_admin, "cancellation_status"),
        (lambda tid: Actor(user="u", roles={Role.ACCOUNT_ADMIN}, tenant_id=tid), "view_key"),
    ],
)
def test_r11_visible_but_not_allowed_is_access_denied(
    led: Ledger, actor_factory: Callable[[UUID], Actor], command: str
) -> None:
    tid, order_id = tenant_with_order(led)
    before = _snapshot(led, tid)
    with pytest.raises(AccessDenied):
        ORDER_COMMANDS[command](led, actor_factory(tid), order_id)
    assert _snapshot(led, tid) == before


def test_r11_monthly_credits_and_activity_are_partitioned_by_partner(
    led: Ledger, clock: ManualClock
) -> None:
    _, mine = tenant_with_order(led)
    _, theirs = tenant_with_order(led, actor=OTHER_AGENT)
    led.view_key(OTHER_AGENT, theirs)
    clock.advance(timedelta(days=1))
    led.cancel(OTHER_AGENT, theirs)
    assert led.monthly_credits(AUDITOR, "2026-11").lines == ()
    assert led.activity_log(AUDITOR, start=date(2026, 11, 1), end=date(2026, 11, 30)) == []
    other_auditor = partner("olga", Role.GLOBAL_ADMIN, partner_id="P2")
    assert [line.order_id for line in led.monthly_credits(other_auditor, "2026-11").lines] == [
        theirs
    ]
    assert led.view_key(AGENT, mine)


# --------------------------------------------------------------------------- R12


def _keyed_purchase(led: Ledger, actor: Actor = AGENT, **overrides: Any) -> UUID:
    kwargs: dict[str, Any] = {
        "product": product(),
        "quantity": 2,
        "unit_price": eur("100.00"),
        "idempotency_key": "po-4711",
    }
    kwargs.update(overrides)
    return led.purchase(actor, **kwargs)


def test_r12_same_key_same_parameters_returns_the_same_order_and_records_nothing(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    first = _keyed_purchase(led, tenant_id=tid)
    before = _snapshot(led, tid)
    clock.advance(timedelta(hours=1))
    again = _keyed_purchase(led, tenant_id=tid)
    # Equal values built afresh are the same parameters.
    p = product()
    fresh = Product(
        product_id=str(p.product_id),
        sku_id=str(p.sku_id),
        title=str(p.title),
        kind=p.kind,
        term_days=p.term_days,
        versions=list(p.versions),  # type: ignore[arg-type]
        languages=list(p.languages),  # type: ignore[arg-type]
        bitness=list(p.bitness),  # type: ignore[arg-type]
    )
    assert fresh == p
    third = _keyed_purchase(
        led, tenant_id=tid, product=fresh, unit_price=Money(Decimal("100"), "EUR")
    )
    assert first == again == third
    assert _snapshot(led, tid) == before
    [item] = led.software(AGENT, tid)
    assert item.order_id == first
    assert item.purchased_at == START
    assert item.quantity == 2


def test_r12_retry_by_another_user_of_the_same_partner_is_the_same_order(led: Ledger) -> None:
    tid = add_tenant(led)
    first = _keyed_purchase(led, tenant_id=tid)
    again = _keyed_purchase(led, partner("gus", Role.GLOBAL_ADMIN), tenant_id=tid)
    assert again == first
    assert len(led.software(AGENT, tid)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": 3},
        {"unit_price": eur("100.01")},
        {"unit_price": Money("100.00", "USD")},
        {"product": product(ProductKind.SUBSCRIPTION)},
        {"product": product(ProductKind.SUBSCRIPTION, term_days=30)},
        {"other_tenant": True},
    ],
)
def test_r12_same_key_different_parameters_is_idempotency_conflict(
    led: Ledger, change: dict[str, Any]
) -> None:
    tid = add_tenant(led)
    other_tid = add_tenant(led)
    first = _keyed_purchase(led, tenant_id=tid)
    before = _snapshot(led, tid)
    overrides = dict(change)
    target = other_tid if overrides.pop("other_tenant", False) else tid
    with pytest.raises(IdempotencyConflict):
        _keyed_purchase(led, tenant_id=target, **overrides)
    assert _snapshot(led, tid) == before
    assert [i.order_id for i in led.software(AGENT, tid)] == [first]
    assert led.software(AGENT, other_tid) == []


def test_r12_subscription_term_is_part_of_the_parameters(led: Ledger) -> None:
    tid = add_tenant(led)
    _keyed_purchase(led, tenant_id=tid, product=product(ProductKind.SUBSCRIPTION, term_days=365))
    with pytest.raises(IdempotencyConflict):
        _keyed_purchase(
            led, tenant_id=tid, product=product(ProductKind.SUBSCRIPTION, term_days=366)
        )
    assert len(led.software(AGENT, tid)) == 1


def test_r12_keys_are_per_partner(led: Ledger) -> None:
    tid1 = add_tenant(led)
    tid2 = add_tenant(led, actor=OTHER_AGENT)
    mine = _keyed_purchase(led, tenant_id=tid1)
    theirs = _keyed_purchase(led, OTHER_AGENT, tenant_id=tid2)
    assert mine != theirs
    assert [i.order_id for i in led.software(AGENT, tid1)] == [mine]
    assert [i.order_id for i in led.software(OTHER_AGENT, tid2)] == [theirs]
    # And each partner's retry still finds its own order.
    assert _keyed_purchase(led, tenant_id=tid1) == mine
    assert _keyed_purchase(led, OTHER_AGENT, tenant_id=tid2) == theirs


def test_r12_different_keys_or_no_key_make_new_orders(led: Ledger) -> None:
    tid = add_tenant(led)
    a = _keyed_purchase(led, tenant_id=tid, idempotency_key="po-1")
    b = _keyed_purchase(led, tenant_id=tid, idempotency_key="po-2")
    c = _keyed_purchase(led, tenant_id=tid, idempotency_key=None)
    d = _keyed_purchase(led, tenant_id=tid, idempotency_key=None)
    assert len({a, b, c, d}) == 4
    assert len(led.software(AGENT, tid)) == 4


def test_r12_retry_after_cancel_returns_the_cancelled_order(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    first = _keyed_purchase(led, tenant_id=tid)
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, first)
    before = _snapshot(led, tid)
    assert _keyed_purchase(led, tenant_id=tid) == first
    assert _snapshot(led, tid) == before
    [item] = led.software(AGENT, tid)
    assert item.status == "cancelled"


def test_r12_idempotent_retry_survives_reopening_the_store(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock) as led:
        tid = add_tenant(led)
        first = _keyed_purchase(led, tenant_id=tid)
    with Ledger.open(durable_url, clock=clock) as led:
        assert _keyed_purchase(led, tenant_id=tid) == first
        with pytest.raises(IdempotencyConflict):
            _keyed_purchase(led, tenant_id=tid, quantity=5)
        assert len(led.software(AGENT, tid)) == 1
