"""R18a: the views rebuilt from the event history equal the live result, and reopening a
store never applies an event twice."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql

from ledger import Actor, Ledger, Money, ProductKind, Role
from ledger.keyring import KEY_TABLES
from tests.support import (
    START,
    ManualClock,
    customer,
    customer_admin,
    eur,
    partner,
    product,
    support,
)

# The stable topic of the purchase event (SPEC §2): it marks the table holding the event log.
PURCHASED_TOPIC = "ledger:Order.Purchased.v1"
MONTHS = ("2026-11", "2026-12", "2027-01")


def reader(partner_id: str = "P1") -> Actor:
    return partner("gina", Role.GLOBAL_ADMIN, partner_id=partner_id)


def agent(partner_id: str = "P1") -> Actor:
    return partner("ann", Role.ADMIN_AGENT, partner_id=partner_id)


@dataclass
class History:
    tenants: dict[str, UUID]
    orders: dict[str, UUID]
    actions: int  # key views, downloads and link copies on P1's orders


def play(led: Ledger, clock: ManualClock) -> History:
    """Purchases, key views, downloads, a cancellation and refunds over three months."""
    hour = timedelta(hours=1)
    nl, au, other = customer("NL"), customer("AU"), customer("DE")
    led.add_customer(agent(), nl)
    led.add_customer(agent(), au)
    led.add_customer(agent("P2"), other)

    def buy(actor: Actor, tenant: UUID, kind: ProductKind, price: Money, qty: int) -> UUID:
        clock.advance(hour)
        return led.purchase(
            actor, tenant_id=tenant, product=product(kind), quantity=qty, unit_price=price
        )

    orders = {
        "perpetual": buy(agent(), nl.tenant_id, ProductKind.PERPETUAL, eur("100.00"), 2),
        "subscription": buy(agent(), nl.tenant_id, ProductKind.SUBSCRIPTION, eur("120.00"), 1),
        "plan": buy(agent(), nl.tenant_id, ProductKind.SOFTWARE_PLAN, eur("9.99"), 5),
        "au": buy(agent(), au.tenant_id, ProductKind.PERPETUAL, Money("50.00", "AUD"), 1),
        "other": buy(agent("P2"), other.tenant_id, ProductKind.PERPETUAL, eur("70.00"), 1),
    }
    actions = 0
    for actor in (agent(), customer_admin(nl.tenant_id)):
        clock.advance(hour)
        led.view_key(actor, orders["perpetual"])
        actions += 1
    clock.advance(hour)
    led.download(agent(), orders["subscription"], version="2024", language="nl-NL", bitness=32)
    clock.advance(hour)
    led.copy_link(
        customer_admin(nl.tenant_id),
        orders["perpetual"],
        version="2024",
        language="en-US",
        bitness=64,
    )
    led.view_key(customer_admin(au.tenant_id), orders["au"])
    actions += 3
    led.view_key(agent("P2"), orders["other"])  # P2's activity, not P1's

    clock.advance(timedelta(days=2))
    led.cancel(agent(), orders["subscription"])

    clock.advance(timedelta(days=31))  # 2026-12: past every window
    partial = led.request_refund(
        agent(),
        orders["perpetual"],
        reason="two seats never used",
        amount=eur("60.00"),
        contact_name="Ann",
        contact_email="ann@p1.example",
        contact_phone="+31 20 555 0100",
    )
    full = led.request_refund(
        agent(),
        orders["au"],
        reason="wrong product",
        amount=Money("50.00", "AUD"),
        contact_name="Ann",
        contact_email="ann@p1.example",
        contact_phone="+31 20 555 0100",
        attachments=("mail.eml", "invoice.pdf"),
    )
    declined = led.request_refund(
        agent("P2"),
        orders["other"],
        reason="changed mind",
        amount=eur("70.00"),
        contact_name="Otto",
        contact_email="otto@p2.example",
        contact_phone="+49 30 555 0100",
    )
    clock.advance(hour)
    led.resolve_refund(support(), partial, approve=True, amount=eur("50.00"))
    led.resolve_refund(support(), full, approve=True)
    led.resolve_refund(support(), declined, approve=False)

    clock.advance(timedelta(days=30))  # 2027-01
    led.download(agent(), orders["perpetual"], version="2024", language="en-US", bitness=64)
    actions += 1
    return History(
        tenants={"nl": nl.tenant_id, "au": au.tenant_id, "other": other.tenant_id},
        orders=orders,
        actions=actions,
    )


def snapshot(led: Ledger, history: History) -> dict[str, Any]:
    """Everything the views answer, for every reader."""
    tenants = history.tenants
    result: dict[str, Any] = {
        "software_nl": led.software(partner(), tenants["nl"]),
        "software_nl_customer": led.software(customer_admin(tenants["nl"]), tenants["nl"]),
        "software_au": led.software(partner("sue", Role.SALES_AGENT), tenants["au"]),
        "software_other": led.software(agent("P2"), tenants["other"]),
        "activity_p1": led.activity_log(reader(), start=date(2026, 11, 1), end=date(2027, 1, 31)),
        "activity_p2": led.activity_log(
            reader("P2"), start=date(2026, 11, 1), end=date(2027, 1, 31)
        ),
        "activity_p1_first_day": led.activity_log(
            reader(), start=date(2026, 11, 2), end=date(2026, 11, 2)
        ),
        "refunds_support": led.refunds(support()),
        "refunds_p1": led.refunds(agent()),
        "refunds_p2": led.refunds(agent("P2")),
    }
    for month in MONTHS:
        result[f"credits_p1_{month}"] = led.monthly_credits(agent(), month)
        result[f"credits_p2_{month}"] = led.monthly_credits(agent("P2"), month)
    return result


def counts(view: dict[str, Any]) -> dict[str, int]:
    return {
        name: len(value.lines) if hasattr(value, "lines") else len(value)
        for name, value in view.items()
    }


def check_live_result(view: dict[str, Any], history: History) -> None:
    """The live views say what the history did (so comparing them is meaningful)."""
    orders = history.orders
    statuses = {item.order_id: item.status for item in view["software_nl"]}
    assert statuses == {
        orders["perpetual"]: "active",
        orders["subscription"]: "cancelled",
        orders["plan"]: "active",
    }
    [au_item] = view["software_au"]
    assert au_item.status == "refunded"
    assert au_item.key_available is False
    assert au_item.tax_inclusive is True
    assert view["software_nl_customer"] == view["software_nl"]
    assert len(view["activity_p1"]) == history.actions
    assert [e.at for e in view["activity_p1"]] == sorted(e.at for e in view["activity_p1"])
    assert len(view["activity_p1_first_day"]) == history.actions - 1
    assert [e.order_id for e in view["activity_p2"]] == [orders["other"]]
    assert [line.order_id for line in view["credits_p1_2026-11"].lines] == [orders["subscription"]]
    december = view["credits_p1_2026-12"]
    assert sorted(str(line.amount) for line in december.lines) == ["50.00 AUD", "50.00 EUR"]
    assert december.totals == {"EUR": eur("50.00"), "AUD": Money("50.00", "AUD")}
    assert list(view["credits_p2_2026-12"].lines) == []
    assert list(view["credits_p1_2027-01"].lines) == []
    assert sorted(r.status for r in view["refunds_support"]) == ["approved", "approved", "declined"]
    assert len(view["refunds_p1"]) == 2
    assert [r.status for r in view["refunds_p2"]] == ["declined"]


def test_r18a_live_views_reflect_the_history(led: Ledger, clock: ManualClock) -> None:
    history = play(led, clock)
    first = snapshot(led, history)
    check_live_result(first, history)
    assert snapshot(led, history) == first  # reading is free of side effects


def test_r18a_a_new_ledger_on_the_same_store_gives_the_same_result(durable_url: str) -> None:
    clock = ManualClock(START)
    with Ledger.open(durable_url, clock=clock) as led:
        reopen_and_compare(led, clock, durable_url)


def reopen_and_compare(led: Ledger, clock: ManualClock, store_url: str) -> None:
    history = play(led, clock)
    live = snapshot(led, history)
    check_live_result(live, history)

    with Ledger.open(store_url, clock=clock) as second:
        assert snapshot(second, history) == live
        with Ledger.open(store_url, clock=clock) as third:
            assert snapshot(third, history) == live
        assert snapshot(second, history) == live
    # The first Ledger, after the others read the same views, still counts each event once.
    assert snapshot(led, history) == live

    # One more event, written through a reopened Ledger, is counted exactly once everywhere.
    with Ledger.open(store_url, clock=clock) as writer:
        writer.view_key(agent(), history.orders["plan"])
    with Ledger.open(store_url, clock=clock) as fourth:
        later = snapshot(fourth, history)
    expected = counts(live)
    expected["activity_p1"] += 1
    assert counts(later) == expected
    assert counts(snapshot(led, history)) == expected
    assert later["activity_p1"][:-1] == live["activity_p1"]
    assert later["activity_p1"][-1].order_id == history.orders["plan"]


# -- views dropped and rebuilt from the event log ----------------------------------------


def drop_everything_but_the_event_log(url: str) -> list[str]:
    """Drop every table that does not hold the event history (the views, their tracking
    position, any other derived table); return the dropped names. The key tables stay:
    they are not derived (R14), losing them loses the licence keys and the audit key."""
    if url.startswith("sqlite"):
        path = url[len("sqlite:///") :]
        conn = sqlite3.connect(path)
        try:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            ]
            dropped = []
            for table in tables:
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
                if PURCHASED_TOPIC not in repr(rows) and table not in KEY_TABLES:
                    conn.execute(f'DROP TABLE "{table}"')
                    dropped.append(table)
            conn.commit()
            return dropped
        finally:
            conn.close()
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    dropped = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                (schema,),
            )
        ]
        for table in tables:
            name = sql.Identifier(schema, table)
            rows = conn.execute(sql.SQL("SELECT t::text FROM {} AS t").format(name)).fetchall()
            if PURCHASED_TOPIC not in repr(rows) and table not in KEY_TABLES:
                conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(name))
                dropped.append(table)
    return dropped


def test_r18a_views_rebuilt_from_the_event_log_equal_the_live_result(durable_url: str) -> None:
    clock = ManualClock(START)
    with Ledger.open(durable_url, clock=clock) as led:
        history = play(led, clock)
        live = snapshot(led, history)
    check_live_result(live, history)

    dropped = drop_everything_but_the_event_log(durable_url)
    assert dropped, "the views should live in tables of their own"

    with Ledger.open(durable_url, clock=clock) as rebuilt:
        assert snapshot(rebuilt, history) == live
    with Ledger.open(durable_url, clock=clock) as again:
        assert snapshot(again, history) == live


def test_r18a_a_rebuilt_audit_chain_has_the_same_digest(durable_url: str) -> None:
    clock = ManualClock(START)
    with Ledger.open(durable_url, clock=clock) as led:
        play(led, clock)
        digest = led.audit.digest()
        assert led.audit.verify(digest).ok

    drop_everything_but_the_event_log(durable_url)

    with Ledger.open(durable_url, clock=clock) as rebuilt:
        assert rebuilt.audit.digest() == digest
        assert rebuilt.audit.verify(digest).ok
        assert rebuilt.audit.verify().ok
