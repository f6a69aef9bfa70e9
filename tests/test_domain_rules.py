"""The rules as the aggregates decide them, Given/When/Then, without a store (R1–R4, R6–R10, R12).

Each test reads like the rule: given a history, when one decision, then the
events it records or the error it raises with nothing recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger import CancellationPolicy, Customer, Money, ProductKind
from ledger.aggregates import Licence, Order
from ledger.aggregates.decisions import approve_refund, cancel_order
from ledger.aggregates.licence import LINK_LIFETIME
from ledger.aggregates.order import OrderRequest, purchase_fingerprint
from ledger.errors import (
    AlreadyCancelled,
    CancellationWindowClosed,
    ConfigurationError,
    IdempotencyConflict,
    InvalidInput,
    KeyRevoked,
    KmsNotAllowed,
    MarketUnavailable,
    NotCancellable,
    RefundAlreadyResolved,
    RefundNotPossible,
)
from ledger.values import CancellationStatus
from tests.domain import DEFAULT, T0, bought, event_names, policies
from tests.support import HalfCredit, Overpaying, product

WINDOW = timedelta(days=30)
US = timedelta(microseconds=1)
CANCEL_EVENTS = ("Order.Cancelled", "Order.CreditIssued", "Licence.KeysRevoked")


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def _purchase(
    market: str = "NL",
    kind: ProductKind = ProductKind.PERPETUAL,
    *,
    quantity: int = 2,
    unit_price: Money | None = None,
    activation: str = "MAK",
) -> Order:
    customer = Customer(tenant_id=uuid4(), domain="c.example", name="C", market=market)
    request = OrderRequest(
        customer.tenant_id, product(kind), quantity, unit_price or eur("249.00"), activation
    )
    return Order.purchase(
        order_id=uuid4(),
        request=request,
        partner_id="P1",
        customer=customer,
        policy=DEFAULT.current,
        user="ann",
        now=T0,
    )


# -- R1–R3: the order decides at purchase ---------------------------------------------------


def test_r1_an_azure_reservation_is_refused_in_a_blocked_market() -> None:
    with pytest.raises(MarketUnavailable):
        _purchase("CN", ProductKind.AZURE_RESERVATION)
    assert _purchase("CN", ProductKind.PERPETUAL).market == "CN"
    assert _purchase("NL", ProductKind.AZURE_RESERVATION).kind is ProductKind.AZURE_RESERVATION


@pytest.mark.parametrize(("market", "inclusive"), [("AU", True), ("BR", True), ("NL", False)])
def test_r2_the_order_records_whether_prices_include_tax(market: str, inclusive: bool) -> None:
    order = _purchase(market)
    (purchased,) = order.collect_events()
    assert isinstance(purchased, Order.Purchased)
    assert purchased.tax_inclusive is inclusive


def test_r2_total_is_unit_price_times_quantity_in_the_unit_price_currency() -> None:
    order = _purchase("NL", unit_price=Money("7", "JPY"), quantity=3)
    assert order.total == Money("21", "JPY")


def test_r3_kms_is_refused_before_anything_is_decided() -> None:
    with pytest.raises(KmsNotAllowed):
        _purchase(activation="KMS")


@pytest.mark.parametrize(
    ("kind", "deadline"),
    [
        (ProductKind.PERPETUAL, T0 + WINDOW),
        (ProductKind.SUBSCRIPTION, T0 + WINDOW),
        (ProductKind.SOFTWARE_PLAN, None),
        (ProductKind.AZURE_RESERVATION, None),
    ],
)
def test_r3_r6_the_deadline_is_fixed_from_the_policy_at_purchase(
    kind: ProductKind, deadline: datetime | None
) -> None:
    assert bought(kind).order.cancellable_until == deadline
    seven = CancellationPolicy.seven_day_subscriptions()
    if kind is ProductKind.SUBSCRIPTION:
        assert bought(kind, policy=seven).order.cancellable_until == T0 + timedelta(days=7)


def test_r3_a_purchase_issues_the_licence_for_the_order() -> None:
    given = bought()
    assert event_names(given.history) == ["Order.Purchased", "Licence.Issued"]
    assert given.licence.id == Licence.id_for(given.order.id)
    assert (given.licence.partner_id, given.licence.tenant_id) == (
        given.order.partner_id,
        given.order.tenant_id,
    )


def test_r12_a_repeated_key_with_other_parameters_conflicts() -> None:
    order = _purchase(quantity=2, unit_price=eur("1.00"))
    office = product(ProductKind.PERPETUAL)
    first = purchase_fingerprint(order.tenant_id, office, 2, eur("1.00"), "MAK")
    assert first == order.request_fingerprint
    order.confirm_replay(first, "po-1")
    other = purchase_fingerprint(order.tenant_id, office, 3, eur("1.00"), "MAK")
    with pytest.raises(IdempotencyConflict):
        order.confirm_replay(other, "po-1")


# -- R4: keys and links ----------------------------------------------------------------------


def test_r4_a_key_view_is_an_access_record_of_its_own() -> None:
    given = bought()
    record = given.when(lambda g: g.licence.view_key("carol", T0)).then("Licence.KeyViewed").value
    assert record.originator_version == 1
    assert record.originator_id not in (given.order.id, given.licence.id)
    assert (record.order_id, record.user, record.ACTION) == (given.order.id, "carol", "key_viewed")
    assert given.licence.version == 1, "the licence's own stream does not grow"


def test_r4_a_download_link_expires_14_days_after_it_is_made() -> None:
    given = bought()
    record = (
        given.when(
            lambda g: g.licence.hand_out_link(
                copied=True, version="2024", language="nl-NL", bitness=32, user="ann", now=T0
            )
        )
        .then("Licence.LinkCopied")
        .value
    )
    assert record.link_expires_at == T0 + LINK_LIFETIME == T0 + timedelta(days=14)
    assert (record.version, record.language, record.bitness) == ("2024", "nl-NL", 32)


@pytest.mark.parametrize(
    ("option", "field"),
    [
        ({"version": "2019"}, "version"),
        ({"language": "fr-FR"}, "language"),
        ({"bitness": 16}, "bitness"),
    ],
)
def test_r4_a_build_that_is_not_offered_is_invalid_input_even_when_revoked(
    option: dict[str, object], field: str
) -> None:
    given = bought()
    given.when(lambda g: g.licence.revoke("cancelled", "ann", T0))
    wanted: dict[str, object] = {"version": "2024", "language": "en-US", "bitness": 64} | option
    error = given.when(
        lambda g: g.licence.hand_out_link(copied=False, user="ann", now=T0, **wanted)  # type: ignore[arg-type]
    ).then_raises(InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == field


def test_r4_a_revoked_key_is_refused_and_nothing_is_recorded() -> None:
    given = bought()
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0)).then(*CANCEL_EVENTS)
    given.when(lambda g: g.licence.view_key("ann", T0)).then_raises(KeyRevoked)
    given.when(
        lambda g: g.licence.hand_out_link(
            copied=False, version="2024", language="en-US", bitness=64, user="ann", now=T0
        )
    ).then_raises(KeyRevoked)


# -- R6–R9: cancelling -----------------------------------------------------------------------


def test_r6_cancel_at_the_deadline_is_refused() -> None:
    given = bought()
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0 + WINDOW)).then_raises(
        CancellationWindowClosed
    )


def test_r6_r7_cancel_just_before_the_deadline_credits_and_revokes_in_one_decision() -> None:
    given = bought()
    cancellation = (
        given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0 + WINDOW - US))
        .then(*CANCEL_EVENTS)
        .value
    )
    assert cancellation.credit == eur("30.00")
    assert cancellation.invoice_month == "2026-12"
    assert given.licence.is_revoked


@pytest.mark.parametrize("kind", [ProductKind.SOFTWARE_PLAN, ProductKind.AZURE_RESERVATION])
def test_r6_plans_and_reservations_are_never_cancellable(kind: ProductKind) -> None:
    given = bought(kind)
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0)).then_raises(
        NotCancellable
    )


def test_r6_a_second_cancel_is_already_cancelled() -> None:
    given = bought()
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0)).then(*CANCEL_EVENTS)
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0)).then_raises(
        AlreadyCancelled
    )


@pytest.mark.parametrize(
    ("elapsed", "credit"),
    [
        (timedelta(0), "110.00"),  # 1 started day used of 12: 120 × 11/12
        (timedelta(hours=23, minutes=59), "110.00"),
        (timedelta(days=1), "100.00"),  # the second day has started
        (timedelta(days=11), "0.00"),
        (timedelta(days=29), "0.00"),  # never below zero, though the window is still open
    ],
)
def test_r8_subscription_credit_counts_started_days(elapsed: timedelta, credit: str) -> None:
    given = bought(ProductKind.SUBSCRIPTION, 12, quantity=12)
    cancellation = given.when(
        lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0 + elapsed)
    ).value
    assert cancellation.credit == eur(credit)


def test_r8_perpetual_credit_is_the_whole_total() -> None:
    given = bought(quantity=7, unit_price=eur("0.33"))
    assert given.when(
        lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0)
    ).value.credit == eur("2.31")


def test_r8_a_custom_policy_credit_is_used_and_an_impossible_one_refused() -> None:
    windows = dict(CancellationPolicy.default().windows)
    half, overpaying = HalfCredit(windows), Overpaying(windows)
    given = bought(policy=half)
    assert given.when(
        lambda g: cancel_order(g.order, g.licence, policies(half), "ann", T0)
    ).value.credit == eur("15.00")
    broken = bought(policy=overpaying)
    broken.when(
        lambda g: cancel_order(g.order, g.licence, policies(overpaying), "ann", T0)
    ).then_raises(ConfigurationError)


def test_r9_status_counts_days_left_and_says_why_not() -> None:
    order = bought().order
    deadline = T0 + WINDOW
    assert order.cancellation_status(T0) == CancellationStatus(True, 30, deadline, None, False)
    assert order.cancellation_status(deadline - US).days_left == 1
    assert order.cancellation_status(deadline) == CancellationStatus(
        False, 0, deadline, "window_closed", True
    )
    plan = bought(ProductKind.SOFTWARE_PLAN).order
    assert plan.cancellation_status(T0) == CancellationStatus(
        False, 0, None, "not_cancellable", False
    )


# -- R10: refunds own their ceilings ---------------------------------------------------------

PAST = T0 + WINDOW


def test_r10_a_refund_needs_a_closed_window() -> None:
    given = bought()
    with pytest.raises(RefundNotPossible):
        given.request_refund("r1", eur("1.00"), T0)
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0))
    with pytest.raises(RefundNotPossible):
        given.request_refund("r1", eur("1.00"), PAST)


@pytest.mark.parametrize("amount", [eur("30.01"), Money("1.00", "USD")])
def test_r10_an_amount_above_the_total_or_in_another_currency_is_invalid(amount: Money) -> None:
    with pytest.raises(InvalidInput) as raised:
        bought().request_refund("r1", amount, PAST)
    assert raised.value.field == "amount"


def test_r10_approval_credits_the_order_and_a_whole_refund_revokes_the_licence() -> None:
    given = bought().request_refund("r1", eur("20.00"), PAST)
    refund = given.refunds["r1"]
    approve = given.when(
        lambda g: approve_refund(refund, g.order, g.licence, eur("10.00"), "sam", PAST)
    )
    approve.then("Refund.Approved", "Order.CreditIssued")
    assert given.order.refundable == eur("20.00")
    given.request_refund("r2", eur("20.00"), PAST)
    whole = given.refunds["r2"]
    given.when(lambda g: approve_refund(whole, g.order, g.licence, None, "sam", PAST)).then(
        "Refund.Approved", "Order.CreditIssued", "Licence.KeysRevoked"
    )
    assert given.order.cancellation_status(PAST).reason == "refunded"


def test_r10_approval_above_the_request_or_what_is_left_is_invalid_input() -> None:
    given = (
        bought().request_refund("r1", eur("20.00"), PAST).request_refund("r2", eur("20.00"), PAST)
    )
    first, second = given.refunds["r1"], given.refunds["r2"]
    given.when(
        lambda g: approve_refund(first, g.order, g.licence, eur("20.01"), "sam", PAST)
    ).then_raises(InvalidInput)
    given.when(lambda g: approve_refund(first, g.order, g.licence, None, "sam", PAST))
    # 10.00 is left; the second request asked for 20.00.
    given.when(lambda g: approve_refund(second, g.order, g.licence, None, "sam", PAST)).then_raises(
        InvalidInput
    )


def test_r10_a_resolved_request_cannot_be_resolved_again() -> None:
    given = bought().request_refund("r1", eur("5.00"), PAST)
    refund = given.refunds["r1"]
    given.when(lambda g: refund.decline("sam", PAST)).then("Refund.Declined")
    given.when(lambda g: refund.decline("sam", PAST)).then_raises(RefundAlreadyResolved)
    given.when(lambda g: approve_refund(refund, g.order, g.licence, None, "sam", PAST)).then_raises(
        RefundAlreadyResolved
    )


# -- replay -----------------------------------------------------------------------------------


def test_r18_an_order_is_rebuilt_exactly_from_its_events() -> None:
    given = bought(ProductKind.SUBSCRIPTION, 30)
    given.when(lambda g: cancel_order(g.order, g.licence, DEFAULT, "ann", T0 + timedelta(days=3)))
    replayed: Order | None = None
    for event in given.history:
        if event.originator_id == given.order.id:
            replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.cancelled_at == T0 + timedelta(days=3)
    assert replayed.credited == given.order.credited == Money(Decimal("26.00"), "EUR")
    assert replayed.version == given.order.version == 3
