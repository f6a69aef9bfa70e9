"""R11 isolation matrix: every command and query × every kind of actor.

The objects belong to partner P1 and its tenant T. For each call the matrix
says who succeeds, who is told the object does not exist (`OrderNotFound`
or one of its subclasses), and who sees it but may not act
(`AccessDenied`, whose message names the roles that would be allowed).
A refused call writes nothing. Another partner that succeeds (say, with its
own activity log) sees nothing of P1's. R21: the audit reads are rows too, and
both auditors (P1's and the vendor's) are actors: reads only, never a write.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import Actor, Ledger, Role
from ledger.errors import AccessDenied, LedgerError, OrderNotFound
from tests.support import (
    QUIET,
    START,
    ManualClock,
    customer,
    eur,
    footprint,
    partner,
    product,
    support,
    vendor_auditor,
)

ALL_ROLES = set(Role) - {Role.SUPPORT}
TENANT = UUID("00000000-0000-4000-8000-00000000aaaa")
OTHER_TENANT = UUID("00000000-0000-4000-8000-00000000bbbb")
WINDOW = timedelta(days=30)

#: Every kind of actor, by a short name used in the matrix.
ACTORS: dict[str, Actor] = {
    "P1 ADMIN_AGENT": partner("a", Role.ADMIN_AGENT),
    "P1 SALES_AGENT": partner("s", Role.SALES_AGENT),
    "P1 GLOBAL_ADMIN": partner("g", Role.GLOBAL_ADMIN),
    "P1 ACCOUNT_ADMIN": partner("c", Role.ACCOUNT_ADMIN),
    "P1 REFERRAL_ADMIN": partner("r", Role.REFERRAL_ADMIN),
    "P1 MARKETING_CONTENT_ADMIN": partner("m", Role.MARKETING_CONTENT_ADMIN),
    "P1 user with SUPPORT": partner("ps", Role.SUPPORT),
    "P1 no roles": Actor(user="n", roles=set(), partner_id="P1"),
    "P1 AUDITOR": partner("au", Role.AUDITOR),
    "P2 every role": Actor(user="x", roles=ALL_ROLES, partner_id="P2"),
    "T GLOBAL_ADMIN": Actor(user="tg", roles={Role.GLOBAL_ADMIN}, tenant_id=TENANT),
    "T ACCOUNT_ADMIN": Actor(user="tc", roles={Role.ACCOUNT_ADMIN}, tenant_id=TENANT),
    "T no roles": Actor(user="tn", roles=set(), tenant_id=TENANT),
    "other tenant GLOBAL_ADMIN": Actor(
        user="og", roles={Role.GLOBAL_ADMIN}, tenant_id=OTHER_TENANT
    ),
    "support": support(),
    "vendor AUDITOR": vendor_auditor(),
}
P1_USERS = {name for name in ACTORS if name.startswith("P1 ")}
T_USERS = {"T GLOBAL_ADMIN", "T ACCOUNT_ADMIN", "T no roles"}
STRANGERS = {"P2 every role", "other tenant GLOBAL_ADMIN"}


@dataclass
class Store:
    led: Ledger
    clock: ManualClock
    orders: dict[str, UUID]  # a fresh P1 order per actor, so that one success never hides another
    refund_id: UUID


@dataclass(frozen=True)
class Row:
    """One command or query: who succeeds, who gets "not found", what AccessDenied names."""

    call: Callable[[Store, Actor, UUID], object]
    allowed: frozenset[str]
    not_found: frozenset[str]
    names: tuple[str, ...]  # what every AccessDenied of this row must mention
    window_closed: bool = False
    check: Callable[[Store, str, object], None] | None = None


def _no_p1(store: Store, who: str, result: object) -> None:
    """A stranger that succeeds sees nothing of P1's."""
    if who == "P2 every role":
        text = repr(result)
        assert "P1" not in text
        assert str(TENANT) not in text
        for order_id in store.orders.values():
            assert str(order_id) not in text


ORDER = frozenset(STRANGERS)
#: R21: one partner's records, as an auditor reads them.
AUDIT_RECORDS = frozenset({"P1 GLOBAL_ADMIN", "P1 AUDITOR", "P2 every role", "vendor AUDITOR"})


def _as_of_software(store: Store, actor: Actor) -> list[Any]:
    with store.led.audit.as_of(store.clock(), actor=actor) as then:
        return then.software(TENANT)


def _exported(export: Callable[[io.StringIO], int]) -> str:
    out = io.StringIO()
    export(out)
    return out.getvalue()


KEYS = frozenset({"P1 ADMIN_AGENT", "T GLOBAL_ADMIN"})

MATRIX: dict[str, Row] = {
    "add_customer (a new tenant)": Row(
        lambda s, a, o: s.led.add_customer(a, customer()),
        frozenset({"P1 ADMIN_AGENT", "P1 SALES_AGENT", "P1 GLOBAL_ADMIN", "P2 every role"}),
        frozenset(),
        ("ADMIN_AGENT", "SALES_AGENT", "GLOBAL_ADMIN"),
    ),
    "add_customer (P1's tenant again)": Row(
        lambda s, a, o: s.led.add_customer(a, customer(tenant_id=TENANT)),
        frozenset({"P1 ADMIN_AGENT", "P1 SALES_AGENT", "P1 GLOBAL_ADMIN", "P2 every role"}),
        frozenset(),
        ("ADMIN_AGENT", "SALES_AGENT", "GLOBAL_ADMIN"),
    ),
    "customers": Row(
        lambda s, a, o: s.led.customers(a),
        frozenset(P1_USERS | {"P2 every role"}),
        frozenset(),
        ("partner users",),
        check=_no_p1,
    ),
    "purchase": Row(
        lambda s, a, o: s.led.purchase(a, TENANT, product(), 1, eur("10.00")),
        frozenset({"P1 ADMIN_AGENT", "P1 GLOBAL_ADMIN"}),
        ORDER,
        ("ADMIN_AGENT", "GLOBAL_ADMIN"),
    ),
    "view_key": Row(
        lambda s, a, o: s.led.view_key(a, o), KEYS, ORDER, ("ADMIN_AGENT", "GLOBAL_ADMIN")
    ),
    "download": Row(
        lambda s, a, o: s.led.download(a, o, version="2024", language="en-US", bitness=64),
        KEYS,
        ORDER,
        ("ADMIN_AGENT", "GLOBAL_ADMIN"),
    ),
    "copy_link": Row(
        lambda s, a, o: s.led.copy_link(a, o, version="2024", language="nl-NL", bitness=32),
        KEYS,
        ORDER,
        ("ADMIN_AGENT", "GLOBAL_ADMIN"),
    ),
    "cancellation_status": Row(
        lambda s, a, o: s.led.cancellation_status(a, o),
        frozenset(P1_USERS),
        ORDER,
        ("partner users",),
    ),
    "cancel": Row(
        lambda s, a, o: s.led.cancel(a, o),
        frozenset({"P1 ADMIN_AGENT"}),
        ORDER,
        ("ADMIN_AGENT",),
    ),
    "request_refund": Row(
        lambda s, a, o: s.led.request_refund(
            a,
            o,
            reason="unused",
            amount=eur("1.00"),
            contact_name="Ann",
            contact_email="ann@p1.example",
            contact_phone="+31 20 123 4567",
        ),
        frozenset({"P1 ADMIN_AGENT"}),
        ORDER,
        ("ADMIN_AGENT",),
        window_closed=True,
    ),
    "resolve_refund": Row(
        lambda s, a, o: s.led.resolve_refund(a, s.refund_id, approve=False),
        frozenset({"support"}),
        ORDER,
        ("SUPPORT",),
        window_closed=True,
    ),
    "refunds": Row(
        lambda s, a, o: s.led.refunds(a),
        frozenset(
            {
                "P1 ADMIN_AGENT",
                "P1 GLOBAL_ADMIN",
                "P1 ACCOUNT_ADMIN",
                "P1 AUDITOR",
                "P2 every role",
                "support",
                "vendor AUDITOR",
            }
        ),
        frozenset(),
        ("ADMIN_AGENT", "GLOBAL_ADMIN", "ACCOUNT_ADMIN", "AUDITOR", "SUPPORT"),
        window_closed=True,
        check=_no_p1,
    ),
    "software": Row(
        lambda s, a, o: s.led.software(a, TENANT),
        frozenset(P1_USERS | {"T GLOBAL_ADMIN", "vendor AUDITOR"}),
        ORDER,
        ("partner users", "GLOBAL_ADMIN", "AUDITOR"),
    ),
    "activity_log": Row(
        lambda s, a, o: s.led.activity_log(a, date(2026, 1, 1), date(2027, 12, 31)),
        frozenset(
            {
                "P1 GLOBAL_ADMIN",
                "P1 ACCOUNT_ADMIN",
                "P1 REFERRAL_ADMIN",
                "P1 MARKETING_CONTENT_ADMIN",
                "P1 AUDITOR",
                "P2 every role",
            }
        ),
        frozenset(),
        ("GLOBAL_ADMIN", "ACCOUNT_ADMIN", "REFERRAL_ADMIN", "MARKETING_CONTENT_ADMIN", "AUDITOR"),
        check=_no_p1,
    ),
    "monthly_credits": Row(
        lambda s, a, o: s.led.monthly_credits(a, "2026-11"),
        frozenset(
            {"P1 ADMIN_AGENT", "P1 GLOBAL_ADMIN", "P1 ACCOUNT_ADMIN", "P1 AUDITOR", "P2 every role"}
        ),
        frozenset(),
        ("ADMIN_AGENT", "GLOBAL_ADMIN", "ACCOUNT_ADMIN", "AUDITOR"),
        check=_no_p1,
    ),
    # R21: every audit read checks its actor, as the queries above do.
    "audit.as_of (software then)": Row(
        lambda s, a, o: _as_of_software(s, a),
        AUDIT_RECORDS,
        frozenset(),
        ("AUDITOR", "GLOBAL_ADMIN"),
        check=_no_p1,
    ),
    "audit.export_credits": Row(
        lambda s, a, o: _exported(lambda out: s.led.audit.export_credits(out, "2026-11", actor=a)),
        AUDIT_RECORDS,
        frozenset(),
        ("AUDITOR", "GLOBAL_ADMIN"),
        check=_no_p1,
    ),
    "audit.export_events": Row(
        lambda s, a, o: _exported(lambda out: s.led.audit.export_events(out, actor=a)),
        frozenset({"vendor AUDITOR"}),
        frozenset(),
        ("AUDITOR",),
    ),
    "audit.trail": Row(
        lambda s, a, o: s.led.audit.trail(a),
        AUDIT_RECORDS,
        frozenset(),
        ("AUDITOR", "GLOBAL_ADMIN"),
        check=_no_p1,
    ),
}


@pytest.fixture
def prepared(store_url: str) -> Iterator[Store]:
    clock = ManualClock()
    with Ledger.open(store_url, clock=clock, logger=QUIET) as led:
        agent = ACTORS["P1 ADMIN_AGENT"]
        led.add_customer(agent, customer(tenant_id=TENANT))
        led.add_customer(agent, customer(tenant_id=OTHER_TENANT))
        orders = {who: led.purchase(agent, TENANT, product(), 2, eur("50.00")) for who in ACTORS}
        # P1's history the strangers must not see: a view, a cancellation credit.
        led.view_key(agent, orders["P1 ADMIN_AGENT"])
        extra = led.purchase(agent, TENANT, product(), 1, eur("5.00"))
        led.cancel(agent, extra)
        clock.advance(WINDOW + timedelta(days=1))
        refund_id = led.request_refund(
            agent,
            orders["support"],
            reason="unused",
            amount=eur("5.00"),
            contact_name="Ann",
            contact_email="ann@p1.example",
            contact_phone="+31 20 123 4567",
        )
        clock.set(START + timedelta(hours=1))
        led.catch_up()
        yield Store(led, clock, orders, refund_id)


def outcome(store: Store, row: Row, who: str) -> tuple[str, object]:
    try:
        return "ok", row.call(store, ACTORS[who], store.orders[who])
    except OrderNotFound as error:
        return "not found", error
    except AccessDenied as error:
        return "denied", error
    except LedgerError as error:
        return type(error).__name__, error


@pytest.mark.parametrize("command", sorted(MATRIX))
def test_r11_every_actor_kind_gets_what_the_rules_say(prepared: Store, command: str) -> None:
    row = MATRIX[command]
    if row.window_closed:
        prepared.clock.advance(WINDOW + timedelta(days=1))
    seen: dict[str, str] = {}
    # Refusals first, so that each is checked against a store the successes have not changed.
    order = sorted(ACTORS, key=lambda who: who in row.allowed)
    for who in order:
        before = footprint(prepared.led)
        result, value = outcome(prepared, row, who)
        seen[who] = result
        if who in row.allowed:
            assert result == "ok", f"{command} by {who}: {result} {value}"
            if row.check is not None:
                row.check(prepared, who, value)
            continue
        assert footprint(prepared.led) == before, f"{command} by {who} wrote something"
        if who in row.not_found:
            assert result == "not found", f"{command} by {who}: {result} {value}"
        else:
            assert result == "denied", f"{command} by {who}: {result} {value}"
            message = str(value)
            for name in row.names:
                assert name in message, f"{command}: AccessDenied does not name {name}: {message}"
    assert len(seen) == len(ACTORS)


UUIDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize(
    "command",
    [
        "view_key",
        "download",
        "copy_link",
        "cancellation_status",
        "cancel",
        "request_refund",
        "resolve_refund",
    ],
)
def test_r11_a_stranger_is_told_exactly_what_an_unknown_id_would_tell(
    prepared: Store, command: str
) -> None:
    row = MATRIX[command]
    for who in sorted(row.not_found):
        _, foreign = outcome(prepared, row, who)
        known_order, known_refund = prepared.orders[who], prepared.refund_id
        prepared.orders[who], prepared.refund_id = uuid4(), uuid4()
        _, unknown = outcome(prepared, row, who)
        prepared.orders[who], prepared.refund_id = known_order, known_refund
        assert type(foreign) is type(unknown)
        assert UUIDS.sub("ID", str(foreign)) == UUIDS.sub("ID", str(unknown))
