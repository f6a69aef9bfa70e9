"""SPEC §9: the integration feed, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from uuid import UUID

import pytest

from ledger import FeedItem, Ledger, Role
from ledger.aggregates.base import LEDGER_NAMESPACE
from ledger.errors import AccessDenied, InvalidInput
from ledger.projections.feed import item_id
from ledger.testing import ManualClock
from tests.support import AGENT, add_tenant, buy, customer_admin, eur, partner, support

BILLING = partner("bill", Role.ACCOUNT_ADMIN)
OTHER = partner("olga", Role.ADMIN_AGENT, partner_id="P2")


def everything(led: Ledger, actor=BILLING, **options) -> list[FeedItem]:  # type: ignore[no-untyped-def]
    """Every item, a page of 2 at a time (so paging is exercised on every test)."""
    items: list[FeedItem] = []
    after = None
    while True:
        page = led.feed(actor, after=after, limit=2, **options)
        items += page.items
        if not page.items:
            assert page.next_cursor == (after or "v1.0")
            return items
        assert page.next_cursor == page.items[-1].cursor
        after = page.next_cursor


def a_life(led: Ledger, clock: ManualClock) -> dict[str, object]:
    """A customer, two orders, a key view, a download, a cancellation and a refund."""
    tenant_id = add_tenant(led)
    kept = buy(led, tenant_id, unit_price=eur("249.00"))
    cancelled = buy(led, tenant_id, unit_price=eur("100.00"))
    led.view_key(AGENT, kept)
    led.download(AGENT, kept, version="2024", language="en-US", bitness=64)
    clock.advance(timedelta(hours=1))
    led.cancel(AGENT, cancelled)
    clock.advance(timedelta(days=40))  # R10: a refund needs a closed window
    refund_id = led.request_refund(
        AGENT,
        kept,
        amount=eur("49.00"),
        reason="two seats too many",
        contact_name="Ann",
        contact_email="ann@example.com",
        contact_phone="+31201234567",
    )
    led.resolve_refund(support(), refund_id, approve=True)
    return {"tenant_id": tenant_id, "kept": kept, "cancelled": cancelled, "refund": refund_id}


def test_feed_holds_every_event_of_the_partner_in_log_order(
    led: Ledger, clock: ManualClock
) -> None:
    life = a_life(led, clock)
    items = everything(led)
    assert [item.type for item in items] == [
        "customer.registered",
        "order.purchased",
        "order.purchased",
        "licence.key_viewed",
        "licence.downloaded",
        "order.cancelled",
        "credit.issued",
        "licence.keys_revoked",
        "refund.requested",
        "refund.resolved",
        "credit.issued",
    ]
    assert len({item.id for item in items}) == len(items)
    cursors = [int(item.cursor.removeprefix("v1.")) for item in items]
    assert cursors == sorted(cursors)
    assert all(item.partner_id == "P1" for item in items)
    assert all(item.tenant_id == life["tenant_id"] for item in items)
    assert [item.order_id for item in items[1:3]] == [life["kept"], life["cancelled"]]
    assert {item.order_id for item in items[5:8]} == {life["cancelled"]}
    purchased = items[1].data
    assert purchased["total"] == {"amount": "249.00", "currency": "EUR"}
    assert purchased["quantity"] == 1
    refund_credit = items[-1].data
    assert refund_credit["amount"] == {"amount": "49.00", "currency": "EUR"}
    assert refund_credit["reason"] == "refund"
    assert refund_credit["refund_id"] == str(life["refund"])
    assert items[-2].data["status"] == "approved"
    assert "contact_email" not in items[-3].data
    json.dumps([item.to_dict() for item in items])


def test_feed_item_ids_are_stable_across_a_rebuild_and_credit_lines_carry_them(
    led: Ledger, clock: ManualClock
) -> None:
    a_life(led, clock)
    before = everything(led)
    led.rebuild_views()
    assert everything(led) == before
    months = sorted({item.occurred_at.strftime("%Y-%m") for item in before})
    lines = [line for month in months for line in led.monthly_credits(BILLING, month).lines]
    credit_items = [item for item in before if item.type == "credit.issued"]
    assert [line.credit_id for line in lines] == [item.id for item in credit_items]
    assert [item.data["credit_id"] for item in credit_items] == [item.id for item in credit_items]


def test_two_equal_credits_at_one_instant_have_two_ids(led: Ledger, clock: ManualClock) -> None:
    tenant_id = add_tenant(led)
    order_id = buy(led, tenant_id, unit_price=eur("498.00"))
    clock.advance(timedelta(days=40))
    refunds = [
        led.request_refund(
            AGENT,
            order_id,
            amount=eur("249.00"),
            reason="seat",
            contact_name="Ann",
            contact_email="ann@example.com",
            contact_phone="+31201234567",
        )
        for _ in range(2)
    ]
    for refund_id in refunds:
        led.resolve_refund(support(), refund_id, approve=True)
    month = clock.now.strftime("%Y-%m")
    first, second = led.monthly_credits(BILLING, month).lines
    assert (first.amount, first.issued_at) == (second.amount, second.issued_at)
    assert first.credit_id != second.credit_id
    assert first.to_dict() != second.to_dict()


def test_feed_filters_by_type_and_keeps_partners_apart(led: Ledger, clock: ManualClock) -> None:
    a_life(led, clock)
    add_tenant(led, actor=OTHER)
    credits = everything(led, types=["credit.issued"])
    assert [item.type for item in credits] == ["credit.issued", "credit.issued"]
    theirs = everything(led, OTHER)
    assert [item.type for item in theirs] == ["customer.registered"]
    assert theirs[0].partner_id == "P2"


@pytest.mark.parametrize(
    "actor",
    [partner("sue", Role.SALES_AGENT), support()],
    ids=["sales agent", "support"],
)
def test_feed_is_for_the_billing_roles_only(led: Ledger, actor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AccessDenied):
        led.feed(actor)


def test_feed_refuses_customer_users(led: Ledger) -> None:
    tenant_id = add_tenant(led)
    with pytest.raises(AccessDenied):
        led.feed(customer_admin(tenant_id))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"after": "nonsense"}, "after"),
        ({"after": "v1.-1"}, "after"),
        ({"after": 5}, "after"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"types": ["order.purchased", "order.exploded"]}, "types"),
        ({"types": "order.purchased"}, "types"),
        ({"types": []}, "types"),
    ],
)
def test_feed_bad_input_names_the_field(led: Ledger, options, field) -> None:  # type: ignore[no-untyped-def]
    add_tenant(led)
    with pytest.raises(InvalidInput) as refused:
        led.feed(BILLING, **options)
    assert refused.value.field == field


def test_a_cursor_stays_valid_in_another_ledger_on_the_same_store(durable_url: str) -> None:
    key = b"f" * 32
    with Ledger.open(durable_url, secret_key=key) as led:
        tenant_id = add_tenant(led)
        buy(led, tenant_id)
        first = led.feed(BILLING, limit=1)
    with Ledger.open(durable_url, secret_key=key, views="follower") as led:
        rest = led.feed(BILLING, after=first.next_cursor)
        assert [item.type for item in rest.items] == ["order.purchased"]


def test_views_built_before_the_feed_are_rebuilt_once(durable_url: str) -> None:
    key = b"f" * 32
    with Ledger.open(durable_url, secret_key=key) as led:
        tenant_id = add_tenant(led)
        buy(led, tenant_id)
        expected = everything(led)
        views = led._views
        with views.datastore.transaction(commit=True) as cursor:
            for table in ("{ledger_feed}", "{ledger_feed_owners}"):
                cursor.execute(views.dialect.render(f"DELETE FROM {table}"), ())
    with Ledger.open(durable_url, secret_key=key) as led:
        assert everything(led) == expected


def test_item_ids_are_version_5_uuids_of_the_stream_and_version() -> None:
    stream = UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e")
    name = LEDGER_NAMESPACE.bytes + b"feed" + stream.bytes + (3).to_bytes(8, "big")
    expected = UUID(bytes=hashlib.sha1(name, usedforsecurity=False).digest()[:16], version=5)
    assert item_id(stream, 3) == str(expected)
    assert item_id(stream, 3) != item_id(stream, 4)


def test_export_credits_gives_each_line_its_credit_id_and_to_dicts_datetime(
    led: Ledger, clock: ManualClock
) -> None:
    a_life(led, clock)
    months = sorted({item.occurred_at.strftime("%Y-%m") for item in everything(led)})
    for month in months:
        lines = [line.to_dict() for line in led.monthly_credits(BILLING, month).lines]
        exported = io.StringIO()
        led.audit.export_credits(exported, month, partner_id="P1")
        rows = [json.loads(line) for line in exported.getvalue().splitlines()]
        assert [(r["credit_id"], r["issued_at"]) for r in rows] == [
            (line["credit_id"], line["issued_at"]) for line in lines
        ]
