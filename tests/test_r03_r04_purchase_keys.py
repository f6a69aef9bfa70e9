"""R3 (purchase, MAK keys) and R4 (keys, downloads, links), through the public API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from ledger import ActivityEntry, Actor, Ledger, ProductKind, Role
from ledger.errors import (
    AccessDenied,
    InvalidInput,
    KeyRevoked,
    KmsNotAllowed,
    OrderNotFound,
)
from tests.support import (
    AGENT,
    START,
    ManualClock,
    add_tenant,
    buy,
    customer_admin,
    eur,
    partner,
    product,
    support,
)

AUDITOR = partner("gina", Role.GLOBAL_ADMIN)
MAK = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")
LONG_AGO = date(2000, 1, 1)
FAR_AHEAD = date(2100, 1, 1)

NON_BUYER_PARTNER_ROLES = [
    Role.SALES_AGENT,
    Role.ACCOUNT_ADMIN,
    Role.REFERRAL_ADMIN,
    Role.MARKETING_CONTENT_ADMIN,
]
NON_KEY_PARTNER_ROLES = [
    Role.GLOBAL_ADMIN,
    Role.SALES_AGENT,
    Role.ACCOUNT_ADMIN,
    Role.REFERRAL_ADMIN,
    Role.MARKETING_CONTENT_ADMIN,
]


def _log(led: Ledger) -> list[ActivityEntry]:
    return list(led.activity_log(AUDITOR, start=LONG_AGO, end=FAR_AHEAD))


# --------------------------------------------------------------------------- R3


@pytest.mark.parametrize("role", [Role.ADMIN_AGENT, Role.GLOBAL_ADMIN])
def test_r3_admin_agent_or_global_admin_buys_for_own_partners_customer(
    led: Ledger, role: Role
) -> None:
    tid = add_tenant(led)
    buyer = partner("bob", role)
    order_id = buy(led, tid, actor=buyer)
    assert isinstance(order_id, UUID)
    [item] = led.software(AGENT, tid)
    assert item.order_id == order_id
    assert item.status == "active"
    assert item.key_available is True


@pytest.mark.parametrize("role", NON_BUYER_PARTNER_ROLES)
def test_r3_other_partner_roles_may_not_buy(led: Ledger, role: Role) -> None:
    tid = add_tenant(led)
    with pytest.raises(AccessDenied):
        buy(led, tid, actor=partner("sue", role))
    assert led.software(AGENT, tid) == []


def test_r3_customer_users_and_support_may_not_buy(led: Ledger) -> None:
    tid = add_tenant(led)
    with pytest.raises(AccessDenied):
        buy(led, tid, actor=customer_admin(tid))
    with pytest.raises((AccessDenied, OrderNotFound)):
        buy(led, tid, actor=support())
    assert led.software(AGENT, tid) == []


def test_r3_may_not_buy_for_another_partners_customer(led: Ledger) -> None:
    tid = add_tenant(led)
    with pytest.raises(OrderNotFound):
        buy(led, tid, actor=partner("otto", Role.ADMIN_AGENT, partner_id="P2"))
    assert led.software(AGENT, tid) == []


@pytest.mark.parametrize("quantity", [1, 2, 99999, 100000])
def test_r3_quantity_in_1_to_100000_is_accepted(led: Ledger, quantity: int) -> None:
    tid = add_tenant(led)
    buy(led, tid, quantity=quantity)
    [item] = led.software(AGENT, tid)
    assert item.quantity == quantity
    assert item.total == eur("100.00") * quantity


@pytest.mark.parametrize(
    "quantity", [0, -1, 100001, 10**12, True, False, "2", 2.0, None, Decimal(2)]
)
def test_r3_quantity_outside_range_or_not_an_int_is_invalid_input(
    led: Ledger, quantity: object
) -> None:
    tid = add_tenant(led)
    with pytest.raises(InvalidInput) as info:
        buy(led, tid, quantity=quantity)  # type: ignore[arg-type]
    assert info.value.field == "quantity"
    assert led.software(AGENT, tid) == []


def test_r3_kms_activation_is_refused_and_records_nothing(led: Ledger) -> None:
    tid = add_tenant(led)
    for kind in ProductKind:
        with pytest.raises(KmsNotAllowed):
            led.purchase(
                AGENT,
                tenant_id=tid,
                product=product(kind),
                quantity=1,
                unit_price=eur("10.00"),
                activation="KMS",
            )
    assert led.software(AGENT, tid) == []
    assert _log(led) == []


def test_r3_kms_refusal_does_not_consume_the_idempotency_key(led: Ledger) -> None:
    tid = add_tenant(led)
    kwargs = {"tenant_id": tid, "product": product(), "quantity": 1, "unit_price": eur("10.00")}
    with pytest.raises(KmsNotAllowed):
        led.purchase(AGENT, activation="KMS", idempotency_key="po-1", **kwargs)  # type: ignore[arg-type]
    assert led.software(AGENT, tid) == []
    order_id = led.purchase(AGENT, activation="MAK", idempotency_key="po-1", **kwargs)  # type: ignore[arg-type]
    assert [i.order_id for i in led.software(AGENT, tid)] == [order_id]


@pytest.mark.parametrize("activation", ["OEM", "", "retail", "KMS " * 70])
def test_r3_unknown_activation_is_invalid_input(led: Ledger, activation: str) -> None:
    tid = add_tenant(led)
    with pytest.raises(InvalidInput) as info:
        led.purchase(
            AGENT,
            tenant_id=tid,
            product=product(),
            quantity=1,
            unit_price=eur("10.00"),
            activation=activation,
        )
    assert info.value.field == "activation"
    assert led.software(AGENT, tid) == []


def test_r3_explicit_mak_activation_is_accepted(led: Ledger) -> None:
    tid = add_tenant(led)
    order_id = led.purchase(
        AGENT,
        tenant_id=tid,
        product=product(),
        quantity=1,
        unit_price=eur("10.00"),
        activation="MAK",
    )
    assert MAK.match(led.view_key(AGENT, order_id))


def test_r3_purchase_issues_a_mak_key_in_the_default_format(led: Ledger) -> None:
    tid = add_tenant(led)
    first = buy(led, tid)
    second = buy(led, tid)
    key1 = led.view_key(AGENT, first)
    key2 = led.view_key(AGENT, second)
    assert MAK.match(key1), key1
    assert MAK.match(key2), key2
    assert key1 != key2
    # The key is the order's: asking again (or as the customer) gives the same secret.
    assert led.view_key(AGENT, first) == key1
    assert led.view_key(customer_admin(tid), first) == key1


@pytest.mark.parametrize("kind", [ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION])
def test_r3_purchase_fixes_cancellable_until_at_purchase_plus_30_days(
    led: Ledger, clock: ManualClock, kind: ProductKind
) -> None:
    bought_at = START + timedelta(hours=3, microseconds=17)
    clock.set(bought_at)
    tid = add_tenant(led)
    order_id = buy(led, tid, kind)
    clock.advance(timedelta(days=2))
    [item] = led.software(AGENT, tid)
    assert item.purchased_at == bought_at
    assert item.cancellable_until == bought_at + timedelta(days=30)
    status = led.cancellation_status(AGENT, order_id)
    assert status.cancellable_until == bought_at + timedelta(days=30)


@pytest.mark.parametrize("kind", [ProductKind.AZURE_RESERVATION, ProductKind.SOFTWARE_PLAN])
def test_r3_never_cancellable_kinds_have_no_cancellable_until(
    led: Ledger, kind: ProductKind
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid, kind)
    [item] = led.software(AGENT, tid)
    assert item.cancellable_until is None
    assert led.cancellation_status(AGENT, order_id).cancellable_until is None


# --------------------------------------------------------------------------- R4


def test_r4_partner_admin_agent_views_key_downloads_and_copies_link(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    assert MAK.match(led.view_key(AGENT, order_id))
    clock.advance(timedelta(seconds=1))
    link = led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
    clock.advance(timedelta(seconds=1))
    copied = led.copy_link(AGENT, order_id, version="2024", language="nl-NL", bitness=32)
    assert link.url
    assert copied.url
    assert [e.action for e in _log(led)] == ["key_viewed", "downloaded", "link_copied"]


def test_r4_customer_global_admin_views_key_downloads_and_copies_link(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    carol = customer_admin(tid)
    clock.advance(timedelta(seconds=1))
    carols_key = led.view_key(carol, order_id)
    clock.advance(timedelta(seconds=1))
    assert carols_key == led.view_key(AGENT, order_id)
    clock.advance(timedelta(seconds=1))
    assert led.download(carol, order_id, version="2024", language="en-US", bitness=64).url
    clock.advance(timedelta(seconds=1))
    assert led.copy_link(carol, order_id, version="2024", language="en-US", bitness=32).url
    entries = _log(led)
    assert [(e.user, e.action) for e in entries] == [
        ("carol", "key_viewed"),
        ("ann", "key_viewed"),
        ("carol", "downloaded"),
        ("carol", "link_copied"),
    ]


Errors = type[Exception] | tuple[type[Exception], ...]


def _refused_everywhere(led: Ledger, actor: Actor, order_id: UUID, error: Errors) -> None:
    with pytest.raises(error):
        led.view_key(actor, order_id)
    with pytest.raises(error):
        led.download(actor, order_id, version="2024", language="en-US", bitness=64)
    with pytest.raises(error):
        led.copy_link(actor, order_id, version="2024", language="en-US", bitness=64)


@pytest.mark.parametrize("role", NON_KEY_PARTNER_ROLES)
def test_r4_other_partner_roles_may_not_view_download_or_copy(led: Ledger, role: Role) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    _refused_everywhere(led, partner("sue", role), order_id, AccessDenied)
    assert _log(led) == []


@pytest.mark.parametrize(
    "roles",
    [
        {Role.ACCOUNT_ADMIN},
        {Role.ADMIN_AGENT},
        {Role.SALES_AGENT},
        set(),
    ],
)
def test_r4_customer_user_without_global_admin_may_not_view_download_or_copy(
    led: Ledger, roles: set[Role]
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    user = Actor(user="dave", roles=roles, tenant_id=tid)
    _refused_everywhere(led, user, order_id, AccessDenied)
    assert _log(led) == []


def test_r4_support_may_not_view_download_or_copy(led: Ledger) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    _refused_everywhere(led, support(), order_id, (AccessDenied, OrderNotFound))
    assert _log(led) == []


def test_r4_other_partner_and_other_tenant_do_not_see_the_order(led: Ledger) -> None:
    tid = add_tenant(led)
    other_tid = add_tenant(led)
    order_id = buy(led, tid)
    _refused_everywhere(led, partner("otto", partner_id="P2"), order_id, OrderNotFound)
    _refused_everywhere(led, customer_admin(other_tid), order_id, OrderNotFound)
    assert _log(led) == []


@pytest.mark.parametrize(
    ("version", "language", "bitness", "field"),
    [
        ("2019", "en-US", 64, "version"),
        ("2024", "de-DE", 64, "language"),
        ("2024", "en-us", 64, "language"),
        ("2024", "en-US", 16, "bitness"),
        ("2024", "en-US", 128, "bitness"),
    ],
)
def test_r4_download_options_not_offered_are_invalid_input(
    led: Ledger, version: str, language: str, bitness: int, field: str
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    for call in (led.download, led.copy_link):
        with pytest.raises(InvalidInput) as info:
            call(AGENT, order_id, version=version, language=language, bitness=bitness)
        assert info.value.field == field
    assert _log(led) == []


@pytest.mark.parametrize("kind", [ProductKind.AZURE_RESERVATION, ProductKind.SOFTWARE_PLAN])
def test_r4_products_without_downloads_refuse_every_download(
    led: Ledger, kind: ProductKind
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid, kind)
    with pytest.raises(InvalidInput):
        led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
    with pytest.raises(InvalidInput):
        led.copy_link(AGENT, order_id, version="2024", language="en-US", bitness=64)
    assert _log(led) == []


def test_r4_link_expires_exactly_14_days_after_the_clock_time(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    made_at = clock.advance(timedelta(hours=5, minutes=7, seconds=3, microseconds=123456))
    link = led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
    assert link.expires_at == made_at + timedelta(days=14)
    assert link.expires_at.utcoffset() == timedelta(0)

    later = clock.advance(timedelta(days=3, microseconds=1))
    copied = led.copy_link(
        customer_admin(tid), order_id, version="2024", language="nl-NL", bitness=32
    )
    assert copied.expires_at == later + timedelta(days=14)
    assert copied.expires_at.utcoffset() == timedelta(0)


def test_r4_link_expiry_with_a_non_utc_clock_is_the_same_instant_in_utc(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    local = datetime(2026, 11, 3, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    clock.set(local)
    link = led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
    assert link.expires_at == datetime(2026, 11, 16, 20, 0, tzinfo=UTC)
    assert link.expires_at.utcoffset() == timedelta(0)


def test_r4_every_view_download_and_copy_is_recorded_in_the_activity_log(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    carol = customer_admin(tid)
    times = []
    times.append(clock.advance(timedelta(minutes=1)))
    led.view_key(AGENT, order_id)
    times.append(clock.advance(timedelta(minutes=1)))
    led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
    times.append(clock.advance(timedelta(minutes=1)))
    led.copy_link(AGENT, order_id, version="2024", language="en-US", bitness=64)
    times.append(clock.advance(timedelta(minutes=1)))
    led.view_key(carol, order_id)
    times.append(clock.advance(timedelta(minutes=1)))
    led.view_key(carol, order_id)
    times.append(clock.advance(timedelta(minutes=1)))
    led.download(carol, order_id, version="2024", language="nl-NL", bitness=32)
    entries = _log(led)
    assert [(e.at, e.user, e.action) for e in entries] == [
        (times[0], "ann", "key_viewed"),
        (times[1], "ann", "downloaded"),
        (times[2], "ann", "link_copied"),
        (times[3], "carol", "key_viewed"),
        (times[4], "carol", "key_viewed"),
        (times[5], "carol", "downloaded"),
    ]
    for entry in entries:
        assert entry.order_id == order_id
        assert entry.tenant_id == tid
        assert entry.title == product().title


def test_r4_purchase_alone_writes_nothing_to_the_activity_log(led: Ledger) -> None:
    tid = add_tenant(led)
    buy(led, tid)
    assert _log(led) == []


def test_r4_cancelled_order_raises_key_revoked_and_records_nothing(
    led: Ledger, clock: ManualClock
) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    led.view_key(AGENT, order_id)
    before = _log(led)
    assert len(before) == 1
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, order_id)
    clock.advance(timedelta(minutes=1))
    _refused_everywhere(led, AGENT, order_id, KeyRevoked)
    _refused_everywhere(led, customer_admin(tid), order_id, KeyRevoked)
    assert _log(led) == before
    [item] = led.software(AGENT, tid)
    assert item.key_available is False


def test_r4_bad_option_on_a_cancelled_order_is_still_invalid_input(led: Ledger) -> None:
    tid = add_tenant(led)
    order_id = buy(led, tid)
    led.cancel(AGENT, order_id)
    with pytest.raises(InvalidInput) as info:
        led.download(AGENT, order_id, version="1999", language="en-US", bitness=64)
    assert info.value.field == "version"
    assert _log(led) == []


def test_r4_key_views_by_other_orders_do_not_leak_between_orders(led: Ledger) -> None:
    tid = add_tenant(led)
    a = buy(led, tid)
    b = buy(led, tid)
    led.cancel(AGENT, a)
    with pytest.raises(KeyRevoked):
        led.view_key(AGENT, a)
    assert MAK.match(led.view_key(AGENT, b))
    assert [e.order_id for e in _log(led)] == [b]
