"""R15 fuzz: every public entry point, handed generated bad input.

Each example takes a call that would be accepted (real actors, orders,
refunds, tenants of the store under test) and replaces one or more of its
arguments with a value drawn from `tests.bad_inputs` for that parameter.
The call must raise a `LedgerError` subclass, and write nothing: the event
count, the rows of every view and of the key table are the same before and
after. At the end the store is opened again and every query answers.

Figures (bad inputs per run, exceptions seen) are printed in the pytest
summary; the CI profile runs more than 2,000 bad inputs in all.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    Actor,
    CancellationPolicy,
    Customer,
    Ledger,
    Money,
    Product,
    Role,
    kms_migration_deadline,
)
from ledger.audit import AuditDigest
from ledger.errors import LedgerError
from ledger.keys import decode_key
from tests import bad_inputs as bad
from tests.support import QUIET as SILENT
from tests.support import (
    START,
    ManualClock,
    customer,
    eur,
    footprint,
    partner,
    product,
    support,
)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: Bad inputs per test (CI / local). The CI total is printed in the summary.
EXAMPLES = {
    "memory": (1000, 150),
    "sqlite": (600, 100),
    "postgres": (400, 60),
    "values": (500, 150),
    "open": (250, 60),
}
WINDOW_PASSED = timedelta(days=40)
#: Neither an Actor nor a usable name, for the audit exports' optional ``actor=``.
#: A bad start or end of a what-if's period (None is a good one there: an open end).
BAD_BOUND = bad.BAD_DAY.filter(lambda value: value is not None)
SOME_NOT_ACTOR = st.one_of(
    bad.NOT_ACTOR.filter(lambda value: value is not None and not isinstance(value, str)),
    bad.BAD_OPTIONAL_TEXT,
)


def examples(kind: str) -> int:
    ci, local = EXAMPLES[kind]
    return ci if IN_CI else local


# -- what a store holds -------------------------------------------------------------------


@dataclass
class Shop:
    """A store with a bit of everything, and the ids the good calls refer to."""

    led: Ledger
    clock: ManualClock
    tenant_id: UUID
    order_id: UUID
    refund_id: UUID
    agent: Actor = field(default_factory=partner)
    admin: Actor = field(default_factory=lambda: partner("gina", Role.GLOBAL_ADMIN))
    seen: Counter[str] = field(default_factory=Counter)
    calls: int = 0


def fill(led: Ledger, clock: ManualClock) -> Shop:
    agent = partner()
    buyer = customer()
    led.add_customer(agent, buyer)
    order_id = led.purchase(agent, buyer.tenant_id, product(), 2, eur("100.00"))
    led.view_key(agent, order_id)
    led.download(agent, order_id, version="2024", language="en-US", bitness=64)
    cancelled = led.purchase(agent, buyer.tenant_id, product(), 1, eur("5.00"))
    led.cancel(agent, cancelled)
    clock.advance(WINDOW_PASSED)
    refund_id = led.request_refund(
        agent,
        order_id,
        reason="Never used",
        amount=eur("10.00"),
        contact_name="Ann",
        contact_email="ann@partner.example",
        contact_phone="+31 20 123 4567",
    )
    led.catch_up()
    return Shop(led, clock, buyer.tenant_id, order_id, refund_id)


# -- entry points: a good call, and a bad strategy per parameter ---------------------------

Call = Callable[[Shop, dict[str, Any]], object]


@dataclass(frozen=True)
class EntryPoint:
    name: str
    good: Callable[[Shop], dict[str, Any]]
    bad: dict[str, st.SearchStrategy[Any]]
    call: Call


def _stream() -> io.StringIO:
    return io.StringIO()


def _historical_queries(shop: Shop, args: dict[str, Any]) -> None:
    past = shop.led.audit.as_of(START + timedelta(days=1))
    past.software(args["tenant_id"])
    past.activity_log(args["partner_id"], date(2026, 11, 1), date(2026, 11, 30))
    past.monthly_credits(args["partner_id"], args["month"])
    past.refunds(args["partner_id"])


COMMANDS: list[EntryPoint] = [
    EntryPoint(
        "add_customer",
        lambda s: {"actor": s.agent, "customer": customer()},
        {"actor": bad.NOT_ACTOR, "customer": bad.NOT_CUSTOMER},
        lambda s, a: s.led.add_customer(a["actor"], a["customer"]),
    ),
    EntryPoint(
        "purchase",
        lambda s: {
            "actor": s.agent,
            "tenant_id": s.tenant_id,
            "product": product(),
            "quantity": 2,
            "unit_price": eur("10.00"),
            "idempotency_key": None,
            "activation": "MAK",
        },
        {
            "actor": bad.NOT_ACTOR,
            "tenant_id": bad.BAD_UUID,
            "product": bad.NOT_PRODUCT,
            "quantity": bad.bad_int(1, 100_000),
            "unit_price": st.one_of(
                bad.BAD_POSITIVE_MONEY,
                # Fine alone, but x2 is a total above 10^12.
                st.just(Money("600000000000.00", "EUR")),
            ),
            "idempotency_key": bad.BAD_OPTIONAL_TEXT,
            "activation": bad.BAD_ACTIVATION,
        },
        lambda s, a: s.led.purchase(**a),
    ),
    *(
        EntryPoint(
            name,
            lambda s: {"actor": s.agent, "order_id": s.order_id},
            {"actor": bad.NOT_ACTOR, "order_id": bad.BAD_UUID},
            call,
        )
        for name, call in [
            ("view_key", lambda s, a: s.led.view_key(**a)),
            ("cancellation_status", lambda s, a: s.led.cancellation_status(**a)),
            ("cancel", lambda s, a: s.led.cancel(**a)),
        ]
    ),
    *(
        EntryPoint(
            name,
            lambda s: {
                "actor": s.agent,
                "order_id": s.order_id,
                "version": "2024",
                "language": "en-US",
                "bitness": 64,
            },
            {
                "actor": bad.NOT_ACTOR,
                "order_id": bad.BAD_UUID,
                "version": st.one_of(bad.BAD_TEXT, st.just("1999")),
                "language": st.one_of(bad.BAD_TEXT, st.just("xx-XX")),
                "bitness": st.one_of(bad.bad_int(0, 1024), st.just(16)),
            },
            call,
        )
        for name, call in [
            ("download", lambda s, a: s.led.download(**a)),
            ("copy_link", lambda s, a: s.led.copy_link(**a)),
        ]
    ),
    EntryPoint(
        "request_refund",
        lambda s: {
            "actor": s.agent,
            "order_id": s.order_id,
            "reason": "Never used",
            "amount": eur("1.00"),
            "contact_name": "Ann",
            "contact_email": "ann@partner.example",
            "contact_phone": "+31 20 123 4567",
            "attachments": ("invoice.pdf",),
            "tenant_id": None,
            "domain": None,
        },
        {
            "actor": bad.NOT_ACTOR,
            "order_id": bad.BAD_UUID,
            "reason": bad.BAD_TEXT,
            "amount": st.one_of(
                bad.BAD_POSITIVE_MONEY,
                st.just(Money("1.00", "USD")),
                st.just(Money("1000000000000", "EUR")),  # above the order total
            ),
            "contact_name": bad.BAD_TEXT,
            "contact_email": bad.BAD_EMAIL,
            "contact_phone": bad.BAD_PHONE,
            "attachments": bad.BAD_TUPLE_OF_TEXT,
            "tenant_id": st.one_of(bad.BAD_OPTIONAL_UUID, st.uuids()),  # another tenant
            "domain": st.one_of(bad.BAD_OPTIONAL_TEXT, st.just("other.example")),
        },
        lambda s, a: s.led.request_refund(**a),
    ),
    EntryPoint(
        "resolve_refund",
        lambda s: {"actor": support(), "refund_id": s.refund_id, "approve": True, "amount": None},
        {
            "actor": bad.NOT_ACTOR,
            "refund_id": bad.BAD_UUID,
            "approve": bad.NOT_BOOL,
            "amount": st.one_of(
                bad.BAD_POSITIVE_MONEY.filter(lambda v: v is not None),
                st.just(Money("11.00", "EUR")),  # above what was requested
            ),
        },
        lambda s, a: s.led.resolve_refund(**a),
    ),
    EntryPoint(
        "refunds",
        lambda s: {"actor": s.agent},
        {"actor": bad.NOT_ACTOR},
        lambda s, a: s.led.refunds(**a),
    ),
    EntryPoint(
        "customers",
        lambda s: {"actor": s.agent},
        {"actor": bad.NOT_ACTOR},
        lambda s, a: s.led.customers(**a),
    ),
    EntryPoint(
        "software",
        lambda s: {"actor": s.agent, "tenant_id": s.tenant_id},
        {"actor": bad.NOT_ACTOR, "tenant_id": bad.BAD_UUID},
        lambda s, a: s.led.software(**a),
    ),
    EntryPoint(
        "activity_log",
        lambda s: {"actor": s.admin, "start": date(2026, 11, 1), "end": date(2026, 11, 30)},
        {
            "actor": bad.NOT_ACTOR,
            "start": st.one_of(bad.BAD_DAY, st.just(date(2026, 12, 1))),  # after end
            "end": st.one_of(bad.BAD_DAY, st.just(date(2026, 10, 31))),  # before start
        },
        lambda s, a: s.led.activity_log(**a),
    ),
    EntryPoint(
        "monthly_credits",
        lambda s: {"actor": s.admin, "month": "2026-11"},
        {"actor": bad.NOT_ACTOR, "month": bad.BAD_MONTH},
        lambda s, a: s.led.monthly_credits(**a),
    ),
    # -- the audit calls ----------------------------------------------------------------
    EntryPoint(
        "audit.verify",
        lambda s: {"digest": None},
        {"digest": bad.BAD_DIGEST},
        lambda s, a: s.led.audit.verify(**a),
    ),
    EntryPoint(
        "audit.as_of",
        lambda s: {"instant": START},
        {"instant": bad.BAD_INSTANT},
        lambda s, a: s.led.audit.as_of(**a),
    ),
    EntryPoint(
        "audit.export_events",
        lambda s: {"target": _stream(), "format": "jsonl", "actor": None},
        {"target": bad.BAD_TARGET, "format": bad.BAD_FORMAT, "actor": SOME_NOT_ACTOR},
        lambda s, a: s.led.audit.export_events(**a),
    ),
    EntryPoint(
        "audit.export_activity",
        lambda s: {
            "target": _stream(),
            "start": date(2026, 11, 1),
            "end": date(2026, 11, 30),
            "format": "csv",
            "partner_id": None,
            "actor": s.admin,
        },
        {
            "target": bad.BAD_TARGET,
            "start": bad.BAD_DAY,
            "end": bad.BAD_DAY,
            "format": bad.BAD_FORMAT,
            "partner_id": bad.BAD_OPTIONAL_TEXT,
            "actor": SOME_NOT_ACTOR,
        },
        lambda s, a: s.led.audit.export_activity(**a),
    ),
    EntryPoint(
        "audit.what_if",
        lambda s: {
            "actor": s.admin,
            "policy": CancellationPolicy.seven_day_subscriptions(),
            "start": None,
            "end": None,
        },
        {
            "actor": bad.NOT_ACTOR,
            "policy": st.one_of(
                st.sampled_from(["default", {}, 30, CancellationPolicy]), bad.ODD_VALUES
            ),
            "start": BAD_BOUND,
            "end": BAD_BOUND,
        },
        lambda s, a: s.led.audit.what_if(**a),
    ),
    EntryPoint(
        "audit.as_of().queries",
        lambda s: {"tenant_id": s.tenant_id, "partner_id": "P1", "month": "2026-11"},
        {"tenant_id": bad.BAD_UUID, "partner_id": bad.BAD_TEXT, "month": bad.BAD_MONTH},
        _historical_queries,
    ),
]


@st.composite
def bad_calls(draw: st.DrawFn, entry_points: list[EntryPoint]) -> tuple[EntryPoint, set[str], Any]:
    """An entry point, which of its parameters go bad, and (lazily) their bad values."""
    entry = draw(st.sampled_from(entry_points))
    names = sorted(entry.bad)
    spoiled = draw(st.sets(st.sampled_from(names), min_size=1, max_size=min(2, len(names))))
    values = {name: draw(entry.bad[name]) for name in sorted(spoiled)}
    return entry, spoiled, values


def run_bad_call(shop: Shop, entry: EntryPoint, values: dict[str, Any]) -> None:
    arguments = {**entry.good(shop), **values}
    before = footprint(shop.led)
    try:
        result = entry.call(shop, arguments)
    except LedgerError as error:
        shop.seen[type(error).__name__] += 1
    except Exception as error:  # the point of the suite: no raw error may escape
        pytest.fail(
            f"{entry.name}({sorted(values)}={values!r:.300}) raised a raw"
            f" {type(error).__module__}.{type(error).__name__}: {error!s:.300}"
        )
    else:
        pytest.fail(f"{entry.name} accepted bad {sorted(values)}={values!r:.300}: {result!r:.200}")
    finally:
        shop.calls += 1
    assert footprint(shop.led) == before, f"{entry.name} with bad {sorted(values)} wrote something"


def every_query_answers(led: Ledger, shop: Shop) -> None:
    """After the fuzz: each query of the facade and of the audit still works."""
    assert led.software(shop.agent, shop.tenant_id)
    assert led.software(Actor("c", {Role.GLOBAL_ADMIN}, tenant_id=shop.tenant_id), shop.tenant_id)
    led.activity_log(shop.admin, date(2026, 11, 1), date(2026, 12, 31))
    assert led.monthly_credits(shop.admin, "2026-11").lines
    assert led.refunds(support())
    led.cancellation_status(shop.agent, shop.order_id)
    assert led.audit.verify().ok
    assert led.audit.rebuild().matches
    assert led.audit.export_events(io.StringIO()) > 0


# -- the tests ----------------------------------------------------------------------------


@pytest.fixture
def shop(store_url: str, tmp_path: Path) -> Iterator[tuple[str, Shop, bytes]]:
    secret = os.urandom(32)
    clock = ManualClock()
    led = Ledger.open(store_url, clock=clock, secret_key=secret, logger=SILENT)
    try:
        yield store_url, fill(led, clock), secret
    finally:
        led.close()


def test_r15_every_command_query_and_audit_call_refuses_bad_input_and_writes_nothing(
    shop: tuple[str, Shop, bytes], request: pytest.FixtureRequest
) -> None:
    url, state, secret = shop
    kind = url.split(":", 1)[0].replace("postgresql", "postgres")

    @settings(
        max_examples=examples(kind),
        suppress_health_check=list(HealthCheck),
        deadline=None,
        database=None,
    )
    @given(call=bad_calls(COMMANDS))
    def fuzz(call: tuple[EntryPoint, set[str], dict[str, Any]]) -> None:
        entry, _, values = call
        run_bad_call(state, entry, values)

    fuzz()
    record(request, f"commands, queries and audit calls on {kind}", state)
    assert state.calls >= examples(kind)
    if kind != "memory":  # a memory store ends with its Ledger
        state.led.close()
        state.led = Ledger.open(url, clock=state.clock, secret_key=secret, logger=SILENT)
    every_query_answers(state.led, state)


# -- value constructors and Ledger.open -----------------------------------------------------

VALUES: list[EntryPoint] = [
    EntryPoint(
        "Money",
        lambda s: {"amount": "10.00", "currency": "EUR"},
        {"amount": bad.BAD_AMOUNT, "currency": bad.BAD_CURRENCY},
        lambda s, a: Money(**a),
    ),
    EntryPoint(
        "Money.from_minor_units",
        lambda s: {"minor_units": 1000, "currency": "EUR"},
        {
            "minor_units": st.one_of(bad.bad_int(-(10**14), 10**14), st.just("1000")),
            "currency": bad.BAD_CURRENCY,
        },
        lambda s, a: Money.from_minor_units(**a),
    ),
    EntryPoint(
        "Actor",
        lambda s: {"user": "ann", "roles": {Role.ADMIN_AGENT}, "partner_id": "P1"},
        {"user": bad.BAD_TEXT, "roles": bad.BAD_ROLES, "partner_id": bad.BAD_TEXT},
        lambda s, a: Actor(**a),
    ),
    EntryPoint(
        "Actor (customer user)",
        lambda s: {"user": "carol", "roles": {Role.GLOBAL_ADMIN}, "tenant_id": uuid4()},
        {"user": bad.BAD_TEXT, "roles": bad.BAD_ROLES, "tenant_id": bad.BAD_UUID},
        lambda s, a: Actor(**a),
    ),
    EntryPoint(
        "Customer",
        lambda s: {"tenant_id": uuid4(), "domain": "c.example", "name": "C", "market": "NL"},
        {
            "tenant_id": bad.BAD_UUID,
            "domain": bad.BAD_TEXT,
            "name": bad.BAD_TEXT,
            "market": bad.BAD_MARKET,
        },
        lambda s, a: Customer(**a),
    ),
    EntryPoint(
        "Product",
        lambda s: {
            "product_id": "P",
            "sku_id": "S",
            "title": "T",
            "kind": "PERPETUAL",
            "term_days": None,
            "versions": ("2024",),
            "languages": ("en-US",),
            "bitness": (64,),
        },
        {
            "product_id": bad.BAD_TEXT,
            "sku_id": bad.BAD_TEXT,
            "title": bad.BAD_TEXT,
            "kind": bad.BAD_KIND,
            "term_days": bad.bad_int(1, 36_600).filter(lambda v: v is not None),
            "versions": bad.BAD_TUPLE_OF_TEXT,
            "languages": bad.BAD_TUPLE_OF_TEXT,
            "bitness": st.one_of(
                st.just((16,)), st.just((64.0,)), st.just("64"), st.just((True,)), st.none()
            ),
        },
        lambda s, a: Product(**a),
    ),
    EntryPoint(
        "CancellationPolicy",
        lambda s: {"windows": {}},
        {"windows": bad.BAD_WINDOWS},
        lambda s, a: CancellationPolicy(**a),
    ),
    EntryPoint(
        "kms_migration_deadline",
        lambda s: {"activated_at": START},
        {"activated_at": st.one_of(bad.BAD_INSTANT, st.just(datetime.max.replace(tzinfo=UTC)))},
        lambda s, a: kms_migration_deadline(**a),
    ),
    EntryPoint(
        "AuditDigest",
        lambda s: {"position": 1, "hash": "a" * 64},
        {"position": bad.bad_int(0, None), "hash": bad.BAD_DIGEST},
        lambda s, a: AuditDigest(**a),
    ),
    EntryPoint(
        "AuditDigest.parse",
        lambda s: {"text": "1:" + "a" * 64},
        {"text": bad.BAD_DIGEST},
        lambda s, a: AuditDigest.parse(**a),
    ),
]


@dataclass
class NoStore:
    seen: Counter[str] = field(default_factory=Counter)
    calls: int = 0


def run_bad_value(state: NoStore, entry: EntryPoint, values: dict[str, Any]) -> None:
    arguments = {**entry.good(state), **values}  # type: ignore[arg-type]
    try:
        result = entry.call(state, arguments)  # type: ignore[arg-type]
    except LedgerError as error:
        state.seen[type(error).__name__] += 1
    except Exception as error:
        pytest.fail(
            f"{entry.name}({values!r:.300}) raised a raw {type(error).__module__}."
            f"{type(error).__name__}: {error!s:.300}"
        )
    else:
        pytest.fail(f"{entry.name} accepted bad {values!r:.300}: {result!r:.200}")
    finally:
        state.calls += 1


@settings(
    max_examples=examples("values"),
    suppress_health_check=list(HealthCheck),
    deadline=None,
    database=None,
)
@given(call=bad_calls(VALUES))
def _fuzz_values(call: tuple[EntryPoint, set[str], dict[str, Any]]) -> None:
    entry, _, values = call
    run_bad_value(_VALUES_STATE, entry, values)


_VALUES_STATE = NoStore()


def test_r15_value_constructors_refuse_bad_input(request: pytest.FixtureRequest) -> None:
    _fuzz_values()
    record(request, "value constructors", _VALUES_STATE)
    assert _VALUES_STATE.calls >= examples("values")


def _open_bad(tmp_path: Path) -> EntryPoint:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("not a database")
    return EntryPoint(
        "Ledger.open",
        lambda s: {
            "url": "memory://",
            "clock": ManualClock(),
            "secret_key": None,
            "previous_keys": (),
            "cancellation_policy": None,
            "earlier_policies": (),
            "logger": SILENT,
        },
        {
            "url": st.one_of(
                st.sampled_from(malformed_urls(tmp_path, not_a_db)),
                st.text(max_size=30)
                .filter(lambda u: u not in ("memory://",))
                .map(lambda t: f"nosuch://{t}"),
                bad.ODD_VALUES,
            ),
            "clock": st.one_of(
                st.builds(lambda v: lambda: v, bad.BAD_INSTANT),
                st.just(lambda: datetime.max.replace(tzinfo=UTC)),
                st.just(lambda: 1 / 0),
                st.sampled_from(["now", 5, START]),  # not callable
            ),
            "secret_key": st.one_of(
                st.binary(max_size=31),
                st.binary(min_size=33, max_size=40),
                st.text(max_size=50).filter(not_a_key),
                st.integers(),
                st.floats(),
                st.just("\ud800" * 44),
            ),
            "previous_keys": st.one_of(
                st.text(min_size=1, max_size=10),
                st.binary(min_size=32, max_size=32),  # one key, not a list of keys
                st.lists(st.binary(max_size=10), min_size=1, max_size=2),
                st.integers(),
            ),
            "cancellation_policy": st.one_of(st.sampled_from(["default", {}, 30]), bad.ODD_VALUES),
            "earlier_policies": st.sampled_from(
                [
                    "standard",
                    5,
                    [1],
                    (object(),),
                    (CancellationPolicy, CancellationPolicy.default()),
                    # Another policy under the built-in default's id.
                    (CancellationPolicy({}, policy_id="standard-30d/2026-11"),),
                ]
            ),
            "logger": st.one_of(st.sampled_from([1, "log", object()]), bad.ODD_VALUES),
        },
        lambda s, a: Ledger.open(**a).close(),
    )


def not_a_key(text: str) -> bool:
    try:
        decode_key(text)
    except LedgerError:
        return True
    return False


def malformed_urls(tmp_path: Path, not_a_db: Path) -> list[str]:
    """Well-formed-looking store URLs that must be refused (never a driver error)."""
    return [
        "memory://x",
        "sqlite://",
        "sqlite:///",
        "sqlite://host/x.db",
        f"sqlite:///{tmp_path}",
        f"sqlite:///{not_a_db}",
        f"sqlite:///{tmp_path}/a%00b.db",
        f"sqlite:///{tmp_path}/x.db?mode=ro",
        f"sqlite:///{tmp_path}/x.db?lock_timeout=-1",
        f"sqlite:///{tmp_path}/x.db#frag",
        f"sqlite:///{tmp_path}/no/such/dir/x.db",
        "sqlite:///" + "x" * 300,
        "postgresql://postgres@127.0.0.1:99999/test",
        "postgresql://postgres@127.0.0.1:0/test",
        "postgresql://postgres@127.0.0.1:port/test",
        "postgresql://postgres@[::1/test",
        "postgresql://postgres@127.0.0.1/",
        "postgresql:///test",
        "postgresql://postgres@127.0.0.1/te/st",
        "postgresql://postgres@127.0.0.1/test?schema=",
        "postgresql://postgres@127.0.0.1/test?schema=pg_catalog",
        "postgresql://postgres@127.0.0.1/test?schema=information_schema",
        "postgresql://postgres@127.0.0.1/test?schema=Bad",
        "postgresql://postgres@127.0.0.1/test?schema=a&schema=b",
        "postgresql://postgres@127.0.0.1/test?pool_size=abc",
        "postgresql://postgres@127.0.0.1/test?pool_size=0",
        "postgresql://postgres@127.0.0.1/test?max_overflow=-1",
        "postgresql://postgres@127.0.0.1/test?colour=blue",
        "postgresql://postgres@127.0.0.1/test#x",
        "postgresql://postgres@127.0.0.1:1/test",  # nothing listens there
        "mysql://localhost/db",
        "",
    ]


_OPEN_STATE = NoStore()


def test_r15_ledger_open_refuses_bad_arguments(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    entry = _open_bad(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())

    @settings(
        max_examples=examples("open"),
        suppress_health_check=list(HealthCheck),
        deadline=None,
        database=None,
    )
    @given(call=bad_calls([entry]))
    def fuzz(call: tuple[EntryPoint, set[str], dict[str, Any]]) -> None:
        _, _, values = call
        run_bad_value(_OPEN_STATE, entry, values)

    fuzz()
    record(request, "Ledger.open", _OPEN_STATE)
    # Nothing was created beside the files that were there: no database, no key file.
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert _OPEN_STATE.calls >= examples("open")


def record(request: pytest.FixtureRequest, what: str, state: Shop | NoStore) -> None:
    """Report the figures in the pytest summary (see conftest.pytest_terminal_summary)."""
    errors = ", ".join(f"{name} {count}" for name, count in state.seen.most_common())
    request.node.user_properties.append(
        ("fuzz", f"{what}: {state.calls} bad inputs, 0 raw exceptions ({errors})")
    )
