"""R19 (policies see the order), R20 (the policy at purchase governs) and what-if (SPEC §10),
through the public API on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger import (
    Actor,
    CancellationPolicy,
    Ledger,
    Money,
    OrderTerms,
    ProductKind,
    Role,
    WhatIfReport,
)
from ledger.errors import AccessDenied, ConfigurationError, InvalidInput
from tests.support import (
    AGENT,
    START,
    HalfCredit,
    ManualClock,
    add_tenant,
    buy,
    eur,
    footprint,
    partner,
    product,
    support,
    tenant_with_order,
)
from tests.test_event_schemas import V1_SECRET, V1_TENANT, _v1_events

DAY = timedelta(days=1)
SUBSCRIPTION, PERPETUAL = ProductKind.SUBSCRIPTION, ProductKind.PERPETUAL
STANDARD = CancellationPolicy.default()
SEVEN_DAYS = CancellationPolicy.seven_day_subscriptions()
ACCOUNTS = partner("acc", Role.ACCOUNT_ADMIN)


@dataclass(frozen=True)
class ProductLine(CancellationPolicy):
    """72 hours for one product line; a market tier: half credit in BE (R19)."""

    short: frozenset[str] = frozenset({f"PRD-{SUBSCRIPTION.value}"})

    def deadline(self, terms: OrderTerms) -> datetime | None:  # type: ignore[override]
        if terms.product.product_id in self.short:
            return terms.purchased_at + timedelta(hours=72)
        return super().deadline(terms)

    def credit(self, terms: OrderTerms, now: datetime) -> Money:  # type: ignore[override]
        full = super().credit(terms, now)
        return full.prorate(1, 2) if terms.market == "BE" else full


PRODUCT_LINE = ProductLine(STANDARD.windows, policy_id="product-line/2026-12")


# -- R19 ----------------------------------------------------------------------------------


def test_r19_a_policy_decides_from_the_product_and_the_market(
    store_url: str, clock: ManualClock
) -> None:
    with Ledger.open(store_url, clock=clock, cancellation_policy=PRODUCT_LINE) as led:
        _, short = tenant_with_order(led, SUBSCRIPTION, term_days=30)
        _, long = tenant_with_order(led, PERPETUAL)
        _, belgian = tenant_with_order(led, PERPETUAL, market="BE")
        assert led.cancellation_status(AGENT, short).cancellable_until == START + 72 * timedelta(
            hours=1
        )
        assert led.cancellation_status(AGENT, long).cancellable_until == START + 30 * DAY
        clock.advance(timedelta(hours=72))
        assert led.cancellation_status(AGENT, short).reason == "window_closed"
        assert led.cancel(AGENT, long).credit == eur("100.00")
        assert led.cancel(AGENT, belgian).credit == eur("50.00")


def test_r19_the_terms_are_the_whole_order_as_bought(store_url: str, clock: ManualClock) -> None:
    seen: list[tuple[str, OrderTerms]] = []

    @dataclass(frozen=True)
    class Recording(CancellationPolicy):
        def deadline(self, terms: OrderTerms) -> datetime | None:  # type: ignore[override]
            seen.append(("deadline", terms))
            return super().deadline(terms)

        def credit(self, terms: OrderTerms, now: datetime) -> Money:  # type: ignore[override]
            seen.append(("credit", terms))
            return super().credit(terms, now)

    policy = Recording(STANDARD.windows, policy_id="recording")
    with Ledger.open(store_url, clock=clock, cancellation_policy=policy) as led:
        tenant_id = add_tenant(led, "DE")
        order_id = buy(led, tenant_id, SUBSCRIPTION, quantity=3, unit_price=eur("10.00"))
        clock.advance(DAY)
        led.cancel(AGENT, order_id)
    (_, at_purchase), (_, at_cancel) = seen
    assert (
        at_purchase
        == at_cancel
        == OrderTerms(
            product=product(SUBSCRIPTION),
            market="DE",
            quantity=3,
            unit_price=eur("10.00"),
            total=eur("30.00"),
            tax_inclusive=False,
            purchased_at=START,
        )
    )
    assert [name for name, _ in seen] == ["deadline", "credit"]


def test_r19_a_policy_of_the_kind_only_form_keeps_working(
    store_url: str, clock: ManualClock
) -> None:
    @dataclass(frozen=True)
    class ThreeDaysLess(CancellationPolicy):
        def deadline(self, kind: ProductKind, purchased_at: datetime) -> datetime | None:  # type: ignore[override]
            found = super().deadline(kind, purchased_at)
            return None if found is None else found - 3 * DAY

    legacy = ThreeDaysLess(STANDARD.windows)
    with Ledger.open(store_url, clock=clock, cancellation_policy=legacy) as led:
        _, order_id = tenant_with_order(led)
        assert led.cancellation_status(AGENT, order_id).cancellable_until == START + 27 * DAY
    half = HalfCredit(STANDARD.windows)  # credit(kind, total, term_days, purchased_at, now)
    with Ledger.open(store_url, clock=clock, cancellation_policy=half) as led:
        _, order_id = tenant_with_order(led)
        assert led.cancel(AGENT, order_id).credit == eur("50.00")


def test_r19_a_policy_of_neither_form_is_refused_at_open(store_url: str) -> None:
    class Puzzling(CancellationPolicy):
        def credit(self, a: Any, b: Any, c: Any) -> Money:  # type: ignore[override]
            return Money.zero("EUR")

    with pytest.raises(ConfigurationError, match=r"Puzzling.*credit\(a, b, c\) takes neither"):
        Ledger.open(store_url, cancellation_policy=Puzzling(STANDARD.windows))
    for not_a_policy in ("standard", object(), 30):
        with pytest.raises(InvalidInput) as raised:
            Ledger.open(store_url, cancellation_policy=not_a_policy)  # type: ignore[arg-type]
        assert raised.value.field == "cancellation_policy"


class Duck:
    """A policy that is not a CancellationPolicy: the interface is enough."""

    policy_id = "duck/1"

    def deadline(self, terms: OrderTerms) -> datetime | None:
        return terms.purchased_at + 2 * DAY

    def credit(self, terms: OrderTerms, now: datetime) -> Money:
        return Money.zero(terms.total.currency)


def test_r19_any_object_with_the_interface_is_a_policy(store_url: str, clock: ManualClock) -> None:
    with Ledger.open(store_url, clock=clock, cancellation_policy=Duck()) as led:  # type: ignore[arg-type]
        _, order_id = tenant_with_order(led)
        assert led.cancellation_status(AGENT, order_id).cancellable_until == START + 2 * DAY
        assert led.cancel(AGENT, order_id).credit == eur("0.00")


# -- bad answers: ConfigurationError naming the policy and the order, nothing recorded -----


def _answering(deadline: Any = None, credit: Any = None, raises: bool = False) -> Any:
    class Bad:
        policy_id = "bad/1"

        def deadline(self, terms: OrderTerms) -> Any:
            if raises and credit is None:
                raise RuntimeError("no window today")
            return terms.purchased_at + 30 * DAY if deadline is None else deadline

        def credit(self, terms: OrderTerms, now: datetime) -> Any:
            if raises:
                raise RuntimeError("no credit today")
            return credit

    return Bad()


BAD_DEADLINES = {
    "raises": _answering(raises=True),
    "naive": _answering(deadline=datetime(2026, 12, 1)),
    "a date": _answering(deadline=date(2026, 12, 1)),
    "text": _answering(deadline="2026-12-01T00:00:00Z"),
}
BAD_CREDITS = {
    "raises": _answering(credit=eur("1.00"), raises=True),
    "a float": _answering(credit=1.0),
    "negative": _answering(credit=eur("-0.01")),
    "above the total": _answering(credit=eur("100.01")),
    "another currency": _answering(credit=Money("1.00", "USD")),
    "None": _answering(credit=None),
}


@pytest.mark.parametrize("answer", sorted(BAD_DEADLINES))
def test_a_bad_deadline_refuses_the_purchase_and_records_nothing(
    store_url: str, clock: ManualClock, answer: str
) -> None:
    with Ledger.open(store_url, clock=clock, cancellation_policy=BAD_DEADLINES[answer]) as led:
        tenant_id = add_tenant(led)
        before = footprint(led)
        with pytest.raises(ConfigurationError, match=r"cancellation policy 'bad/1' .*\(order "):
            buy(led, tenant_id)
        assert footprint(led) == before
        assert led.software(AGENT, tenant_id) == []


@pytest.mark.parametrize("answer", sorted(BAD_CREDITS))
def test_a_bad_credit_refuses_the_cancel_and_records_nothing(
    store_url: str, clock: ManualClock, answer: str
) -> None:
    with Ledger.open(store_url, clock=clock, cancellation_policy=BAD_CREDITS[answer]) as led:
        _, order_id = tenant_with_order(led)
        before = footprint(led)
        with pytest.raises(ConfigurationError, match=rf"'bad/1' .*\(order {order_id}\)"):
            led.cancel(AGENT, order_id)
        assert footprint(led) == before
        assert led.cancellation_status(AGENT, order_id).cancellable


# -- R20 ----------------------------------------------------------------------------------


def test_r20_orders_keep_the_policy_they_were_bought_under(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock, cancellation_policy=SEVEN_DAYS) as led:
        tenant_id = add_tenant(led)
        before = buy(led, tenant_id, SUBSCRIPTION, term_days=30, unit_price=eur("30.00"))
    half = HalfCredit(STANDARD.windows, policy_id="half/2026-12")
    with Ledger.open(
        durable_url, clock=clock, cancellation_policy=half, earlier_policies=(SEVEN_DAYS,)
    ) as led:
        after = buy(led, tenant_id, SUBSCRIPTION, term_days=30, unit_price=eur("30.00"))
        assert led.cancellation_status(AGENT, before).cancellable_until == START + 7 * DAY
        assert led.cancellation_status(AGENT, after).cancellable_until == START + 30 * DAY
        clock.advance(2 * DAY)
        # The old order: R8 (3 started days of 30), not the new policy's half.
        assert led.cancel(AGENT, before).credit == eur("27.00")
        assert led.cancel(AGENT, after).credit == eur("15.00")
        assert led.cancellation_policy is half


def test_r20_an_order_whose_policy_was_not_passed_is_a_configuration_error(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock, cancellation_policy=SEVEN_DAYS) as led:
        _, order_id = tenant_with_order(led, SUBSCRIPTION)
    with Ledger.open(durable_url, clock=clock, cancellation_policy=PRODUCT_LINE) as led:
        before = footprint(led)
        for call in (led.cancellation_status, led.cancel):
            with pytest.raises(ConfigurationError) as raised:
                call(AGENT, order_id)
            assert "'subscriptions-7d/2026-11'" in str(raised.value)
            assert str(order_id) in str(raised.value)
            assert "earlier_policies" in str(raised.value)
        assert footprint(led) == before


def test_r20_orders_from_before_policy_ids_belong_to_the_built_in_default(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    with Ledger.open(url, secret_key=V1_SECRET) as empty:
        empty._uow.events.recorder.insert_events(_v1_events())
    clock = ManualClock(datetime(2026, 12, 20, tzinfo=UTC))
    with Ledger.open(url, secret_key=V1_SECRET, clock=clock, cancellation_policy=SEVEN_DAYS) as led:
        plan = next(i for i in led.software(AGENT, V1_TENANT) if i.title == "Project Plan 3")
        with pytest.raises(ConfigurationError, match="'standard-30d/2026-11'"):
            led.cancellation_status(AGENT, plan.order_id)
    with Ledger.open(
        url,
        secret_key=V1_SECRET,
        clock=clock,
        cancellation_policy=SEVEN_DAYS,
        earlier_policies=(CancellationPolicy.default(),),
    ) as led:
        assert led.cancellation_status(AGENT, plan.order_id).reason == "window_closed"


def test_r20_policy_ids_are_stable_and_two_policies_cannot_share_one() -> None:
    assert STANDARD.policy_id == "standard-30d/2026-11"
    assert CancellationPolicy({PERPETUAL: 30 * DAY, SUBSCRIPTION: 30 * DAY}) == STANDARD
    assert SEVEN_DAYS.policy_id == "subscriptions-7d/2026-11"
    assert CancellationPolicy({SUBSCRIPTION: 72 * timedelta(hours=1)}).policy_id == (
        "windows:subscription=3d"
    )
    assert HalfCredit(STANDARD.windows).policy_id == (
        "tests.support.HalfCredit:perpetual=30d,subscription=30d"
    )
    with pytest.raises(InvalidInput) as raised:
        Ledger.open(
            cancellation_policy=STANDARD,
            earlier_policies=(
                CancellationPolicy(SEVEN_DAYS.windows, policy_id=STANDARD.policy_id),
            ),
        )
    assert raised.value.field == "earlier_policies"
    for bad in (" ", "x" * 201, "tab\there", 7):
        with pytest.raises(InvalidInput) as raised:
            CancellationPolicy(STANDARD.windows, policy_id=bad)
        assert raised.value.field == "policy_id"
    with pytest.raises(InvalidInput) as raised:
        Ledger.open(earlier_policies="standard")  # type: ignore[arg-type]
    assert raised.value.field == "earlier_policies"
    # The same policy given twice is no conflict.
    Ledger.open(cancellation_policy=STANDARD, earlier_policies=(STANDARD, SEVEN_DAYS)).close()


# -- what-if ------------------------------------------------------------------------------


def _history(led: Ledger, clock: ManualClock) -> dict[str, UUID]:
    """Four orders of P1 (and one of P2) with every kind of outcome, under the default."""
    tenant_id = add_tenant(led)
    orders = {
        "kept": buy(led, tenant_id, PERPETUAL),
        "cancelled late": buy(led, tenant_id, SUBSCRIPTION, term_days=30, unit_price=eur("30.00")),
        "cancelled early": buy(led, tenant_id, SUBSCRIPTION, term_days=30, unit_price=eur("30.00")),
        "never cancellable": buy(led, tenant_id, ProductKind.SOFTWARE_PLAN),
    }
    other = partner("otto", partner_id="P2")
    orders["other partner"] = buy(led, add_tenant(led, actor=other), PERPETUAL, actor=other)
    clock.advance(DAY)
    led.cancel(AGENT, orders["cancelled early"])
    clock.advance(9 * DAY)
    led.cancel(AGENT, orders["cancelled late"])
    return orders


def test_what_if_tells_each_order_s_change_and_the_totals(
    store_url: str, clock: ManualClock
) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        orders = _history(led, clock)
        before = footprint(led)
        report = led.audit.what_if(ACCOUNTS, PRODUCT_LINE)
        assert footprint(led) == before  # read-only
    rows = {row.order_id: row for row in report.rows}
    assert orders["other partner"] not in rows
    kept, late, early = (
        rows[orders[name]] for name in ("kept", "cancelled late", "cancelled early")
    )
    assert (kept.change, kept.deadline, kept.candidate_deadline) == (
        "same",
        START + 30 * DAY,
        START + 30 * DAY,
    )
    assert (kept.credit, kept.candidate_credit, kept.cancelled_at) == (None, None, None)
    # The 72-hour line: cancelled after 10 days, refused; after one day, allowed and the same.
    assert (late.change, late.credit, late.candidate_credit) == (
        "would_be_refused",
        eur("19.00"),
        None,
    )
    assert late.candidate_deadline == START + 3 * DAY
    assert (early.change, early.credit, early.candidate_credit) == (
        "deadline_changed",
        eur("28.00"),
        eur("28.00"),
    )
    assert rows[orders["never cancellable"]].change == "same"
    assert report.changes == {
        "same": 2,
        "credit_changed": 0,
        "deadline_changed": 1,
        "would_be_refused": 1,
    }
    (totals,) = report.totals.values()
    assert (totals.currency, totals.actual, totals.candidate, totals.difference) == (
        "EUR",
        eur("47.00"),
        eur("28.00"),
        eur("-19.00"),
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["policy_id"] == "product-line/2026-12"
    assert data["totals"]["EUR"]["difference"] == {"amount": "-19.00", "currency": "EUR"}
    assert len(data["rows"]) == 4
    assert set(data["rows"][0]) == {
        "order_id",
        "tenant_id",
        "product_id",
        "purchased_at",
        "deadline",
        "candidate_deadline",
        "cancelled_at",
        "credit",
        "candidate_credit",
        "change",
    }


def test_what_if_prices_a_credit_change_by_market(store_url: str, clock: ManualClock) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        _, order_id = tenant_with_order(led, market="BE")
        clock.advance(DAY)
        led.cancel(AGENT, order_id)
        (row,) = led.audit.what_if(support(), PRODUCT_LINE).rows
    assert (row.change, row.credit, row.candidate_credit) == (
        "credit_changed",
        eur("100.00"),
        eur("50.00"),
    )


def test_what_if_over_a_history_that_crosses_a_policy_change(
    durable_url: str, clock: ManualClock
) -> None:
    with Ledger.open(durable_url, clock=clock, cancellation_policy=SEVEN_DAYS) as led:
        tenant_id = add_tenant(led)
        old = buy(led, tenant_id, SUBSCRIPTION, term_days=30, unit_price=eur("30.00"))
    with Ledger.open(
        durable_url, clock=clock, cancellation_policy=STANDARD, earlier_policies=(SEVEN_DAYS,)
    ) as led:
        new = buy(led, tenant_id, SUBSCRIPTION, term_days=30, unit_price=eur("30.00"))
        clock.advance(8 * DAY)
        led.cancel(AGENT, new)
        rows = {row.order_id: row for row in led.audit.what_if(AGENT, SEVEN_DAYS).rows}
    # The old order was bought under the candidate already; the new one would be refused.
    assert rows[old].change == "same"
    assert rows[old].deadline == rows[old].candidate_deadline == START + 7 * DAY
    assert (rows[new].change, rows[new].credit) == ("would_be_refused", eur("21.00"))


def test_what_if_takes_a_period_of_purchases(store_url: str, clock: ManualClock) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        tenant_id = add_tenant(led)
        first = buy(led, tenant_id)
        clock.advance(DAY)
        second = buy(led, tenant_id)
        day_one, day_two = START.date(), (START + DAY).date()
        assert [r.order_id for r in led.audit.what_if(AGENT, STANDARD, day_one, day_one).rows] == [
            first
        ]
        assert [r.order_id for r in led.audit.what_if(AGENT, STANDARD, start=day_two).rows] == [
            second
        ]
        assert [r.order_id for r in led.audit.what_if(AGENT, STANDARD, end=START + DAY).rows] == [
            first
        ]
        with pytest.raises(InvalidInput) as raised:
            led.audit.what_if(AGENT, STANDARD, day_two, day_one)
        assert raised.value.field == "end"
        with pytest.raises(InvalidInput) as raised:
            led.audit.what_if(AGENT, STANDARD, "2026-11-01")  # type: ignore[arg-type]
        assert raised.value.field == "start"


def test_what_if_checks_its_actor_and_its_policy(store_url: str, clock: ManualClock) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        tenant_id, _ = tenant_with_order(led)
        with pytest.raises(AccessDenied):
            led.audit.what_if(partner("mia", Role.MARKETING_CONTENT_ADMIN), STANDARD)
        customer = Actor(user="carol", roles={Role.GLOBAL_ADMIN}, tenant_id=tenant_id)
        with pytest.raises(AccessDenied):
            led.audit.what_if(customer, STANDARD)
        with pytest.raises(InvalidInput) as raised:
            led.audit.what_if("ann", STANDARD)  # type: ignore[arg-type]
        assert raised.value.field == "actor"
        with pytest.raises(InvalidInput) as raised:
            led.audit.what_if(AGENT, "standard")
        assert raised.value.field == "policy"
        assert led.audit.what_if(partner("otto", partner_id="P2"), STANDARD).rows == ()


@pytest.mark.parametrize(
    ("answer", "policy"),
    [
        *(("deadline " + k, v) for k, v in BAD_DEADLINES.items()),
        *(("credit " + k, v) for k, v in BAD_CREDITS.items()),
    ],
)
def test_what_if_refuses_a_bad_answer_naming_the_policy_and_the_order(
    store_url: str, clock: ManualClock, answer: str, policy: Any
) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        _, order_id = tenant_with_order(led)
        clock.advance(DAY)
        led.cancel(AGENT, order_id)
        before = footprint(led)
        with pytest.raises(ConfigurationError, match=rf"'bad/1' .*\(order {order_id}\)"):
            led.audit.what_if(AGENT, policy)
        assert footprint(led) == before


def test_what_if_reports_progress_and_is_a_whatifreport(store_url: str, clock: ManualClock) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        tenant_with_order(led)
        calls: list[tuple[int, int]] = []
        report = led.audit.what_if(AGENT, STANDARD, progress=lambda d, t: calls.append((d, t)))
        assert isinstance(report, WhatIfReport)
        assert calls
        assert calls[-1][0] <= calls[-1][1] == report.position
