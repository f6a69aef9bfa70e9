"""R10: refund requests past the cancellation window, resolved by the vendor's support."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import Actor, Ledger, Money, ProductKind, Role
from ledger.errors import (
    AccessDenied,
    InvalidInput,
    KeyRevoked,
    OrderNotFound,
    RefundAlreadyResolved,
    RefundNotFound,
    RefundNotPossible,
)
from tests.support import (
    ManualClock,
    customer_admin,
    eur,
    partner,
    support,
    tenant_with_order,
)

WINDOW = timedelta(days=30)
PAST_WINDOW = timedelta(days=31)


def file_refund(led: Ledger, actor: Actor, order_id: UUID, amount: Money, **overrides: Any) -> UUID:
    arguments: dict[str, Any] = {
        "reason": "customer never deployed the software",
        "amount": amount,
        "contact_name": "Ann Agent",
        "contact_email": "ann@partner.example",
        "contact_phone": "+31 20 123 4567",
        "attachments": ("invoice.pdf",),
    }
    arguments.update(overrides)
    return led.request_refund(actor, order_id, **arguments)


def credit_amounts(led: Ledger, month: str, order_id: UUID) -> list[Money]:
    statement = led.monthly_credits(partner(), month)
    return [line.amount for line in statement.lines if line.order_id == order_id]


# -- when a refund can be requested ------------------------------------------------------


def test_r10_refund_within_the_window_is_not_possible(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    with pytest.raises(RefundNotPossible):
        file_refund(led, partner(), order_id, eur("10.00"))
    clock.advance(WINDOW - timedelta(microseconds=1))
    with pytest.raises(RefundNotPossible):
        file_refund(led, partner(), order_id, eur("10.00"))
    assert led.refunds(partner()) == []


def test_r10_refund_is_possible_from_the_deadline_on(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(WINDOW)  # at the deadline itself the window is closed (R6)
    refund_id = file_refund(led, partner(), order_id, eur("10.00"))
    assert [r.refund_id for r in led.refunds(partner())] == [refund_id]


@pytest.mark.parametrize("kind", [ProductKind.SOFTWARE_PLAN, ProductKind.AZURE_RESERVATION])
def test_r10_refund_for_a_never_cancellable_kind_is_not_possible(
    led: Ledger, clock: ManualClock, kind: ProductKind
) -> None:
    _, order_id = tenant_with_order(led, kind, quantity=2)
    with pytest.raises(RefundNotPossible):
        file_refund(led, partner(), order_id, eur("10.00"))
    clock.advance(PAST_WINDOW)
    with pytest.raises(RefundNotPossible):
        file_refund(led, partner(), order_id, eur("10.00"))
    assert led.refunds(partner()) == []


def test_r10_refund_for_a_cancelled_order_is_not_possible(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    led.cancel(partner(), order_id)
    clock.advance(PAST_WINDOW)
    with pytest.raises(RefundNotPossible):
        file_refund(led, partner(), order_id, eur("10.00"))
    assert led.refunds(partner()) == []


# -- who may request ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "roles",
    [
        (Role.GLOBAL_ADMIN,),
        (Role.SALES_AGENT,),
        (Role.ACCOUNT_ADMIN,),
        (Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.SALES_AGENT),
    ],
)
def test_r10_only_a_partner_admin_agent_may_request(
    led: Ledger, clock: ManualClock, roles: tuple[Role, ...]
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    with pytest.raises(AccessDenied):
        file_refund(led, partner("gus", *roles), order_id, eur("10.00"))
    assert led.refunds(partner()) == []


def test_r10_a_customer_admin_may_not_request(led: Ledger, clock: ManualClock) -> None:
    tenant_id, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    with pytest.raises(AccessDenied):
        file_refund(led, customer_admin(tenant_id), order_id, eur("10.00"))
    assert led.refunds(partner()) == []


def test_r10_another_partners_agent_does_not_see_the_order(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    with pytest.raises(OrderNotFound):
        file_refund(led, partner("olga", partner_id="P2"), order_id, eur("10.00"))
    assert led.refunds(partner()) == []


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        Money("0", "EUR"),
        Money("-1.00", "EUR"),
        Money("200.01", "EUR"),  # the order total is 2 × 100.00
        Money("1000000", "EUR"),
        Money("10.00", "USD"),
        Money("10", "JPY"),
    ],
    ids=["zero", "negative", "just-above-total", "far-above-total", "usd", "jpy"],
)
def test_r10_bad_amount_is_invalid_input_naming_amount(
    led: Ledger, clock: ManualClock, amount: Money
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    with pytest.raises(InvalidInput) as caught:
        file_refund(led, partner(), order_id, amount)
    assert caught.value.field == "amount"
    assert led.refunds(partner()) == []


def test_r10_the_whole_total_may_be_requested(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    file_refund(led, partner(), order_id, eur("200.00"))
    [refund] = led.refunds(partner())
    assert refund.amount == eur("200.00")


@pytest.mark.parametrize(
    "email",
    ["ann.partner.example", "ann@", "@partner.example", "ann@@partner.example", "ann x@p.example"],
)
def test_r10_bad_contact_email_is_invalid_input(
    led: Ledger, clock: ManualClock, email: str
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    with pytest.raises(InvalidInput) as caught:
        file_refund(led, partner(), order_id, eur("10.00"), contact_email=email)
    assert caught.value.field == "contact_email"
    assert led.refunds(partner()) == []


# -- listing -----------------------------------------------------------------------------


def test_r10_a_request_is_listed_as_pending(led: Ledger, clock: ManualClock) -> None:
    tenant_id, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    requested_at = clock.now
    refund_id = file_refund(led, partner(), order_id, eur("60.00"))

    [refund] = led.refunds(partner())
    assert refund.refund_id == refund.id == refund_id
    assert refund.order_id == order_id
    assert refund.tenant_id == tenant_id
    assert refund.partner_id == "P1"
    assert refund.status == refund.state == "pending"
    assert refund.amount == eur("60.00")
    assert refund.contact_email == "ann@partner.example"
    assert tuple(refund.attachments) == ("invoice.pdf",)
    assert refund.requested_by == "ann"
    assert refund.requested_at == requested_at
    assert refund.approved_amount is None
    assert refund.resolved_by is None
    assert refund.resolved_at is None

    # R11: the owning partner's ADMIN_AGENT, GLOBAL_ADMIN or ACCOUNT_ADMIN and support see
    # it (it holds contact details); other roles are refused; another partner does not see it.
    for role in (Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN):
        assert [r.refund_id for r in led.refunds(partner("gus", role))] == [refund_id]
    with pytest.raises(AccessDenied):
        led.refunds(partner("sue", Role.SALES_AGENT))
    assert [r.refund_id for r in led.refunds(support())] == [refund_id]
    assert led.refunds(partner("olga", partner_id="P2")) == []


# -- resolving ---------------------------------------------------------------------------


def test_r10_approval_credits_the_approved_amount_in_the_month_of_approval(
    led: Ledger, clock: ManualClock
) -> None:
    tenant_id, order_id = tenant_with_order(led, quantity=2)  # 2026-11-02
    clock.set(datetime(2026, 12, 20, 12, 0, tzinfo=UTC))
    refund_id = file_refund(led, partner(), order_id, eur("60.00"))
    approved_at = datetime(2027, 1, 5, 8, 30, tzinfo=UTC)
    clock.set(approved_at)

    resolved = led.resolve_refund(support(), refund_id, approve=True, amount=eur("50.00"))

    assert resolved.refund_id == refund_id
    assert resolved.status == "approved"
    assert resolved.approved_amount == eur("50.00")
    assert resolved.resolved_by == "sam"
    assert resolved.resolved_at == approved_at
    assert credit_amounts(led, "2026-12", order_id) == []
    assert credit_amounts(led, "2027-01", order_id) == [eur("50.00")]
    statement = led.monthly_credits(partner(), "2027-01")
    [line] = statement.lines
    assert line.tenant_id == tenant_id
    assert line.issued_at == approved_at
    assert statement.totals["EUR"] == eur("50.00")
    [listed] = led.refunds(partner())
    assert listed.status == "approved"
    assert listed.approved_amount == eur("50.00")

    # A partial refund leaves the licence alone.
    assert led.view_key(partner(), order_id)
    [item] = led.software(partner(), tenant_id)
    assert item.status == "active"
    assert item.key_available is True


def test_r10_approval_without_amount_credits_as_requested(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("12.34"))
    resolved = led.resolve_refund(support(), refund_id, approve=True, amount=None)
    assert resolved.approved_amount == eur("12.34")
    month = clock.now.strftime("%Y-%m")
    assert credit_amounts(led, month, order_id) == [eur("12.34")]


def test_r10_approving_more_than_requested_is_invalid_input(
    led: Ledger, clock: ManualClock
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("60.00"))
    with pytest.raises(InvalidInput) as caught:
        led.resolve_refund(support(), refund_id, approve=True, amount=eur("60.01"))
    assert caught.value.field == "amount"
    [refund] = led.refunds(support())
    assert refund.status == "pending"
    assert credit_amounts(led, clock.now.strftime("%Y-%m"), order_id) == []
    # Still resolvable afterwards.
    assert led.resolve_refund(support(), refund_id, approve=True).status == "approved"


def test_r10_a_full_refund_revokes_the_keys(led: Ledger, clock: ManualClock) -> None:
    tenant_id, order_id = tenant_with_order(led, quantity=2)
    key = led.view_key(partner(), order_id)
    assert key
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("200.00"))
    led.resolve_refund(support(), refund_id, approve=True)

    with pytest.raises(KeyRevoked):
        led.view_key(partner(), order_id)
    with pytest.raises(KeyRevoked):
        led.view_key(customer_admin(tenant_id), order_id)
    with pytest.raises(KeyRevoked):
        led.download(partner(), order_id, version="2024", language="en-US", bitness=64)
    [item] = led.software(partner(), tenant_id)
    assert item.status == "refunded"
    assert item.key_available is False
    assert item.credited == eur("200.00")
    assert credit_amounts(led, clock.now.strftime("%Y-%m"), order_id) == [eur("200.00")]
    # Nothing is left to refund.
    with pytest.raises(RefundNotPossible):
        file_refund(led, partner(), order_id, eur("1.00"))


def test_r10_partial_refunds_that_add_up_to_the_total_revoke_the_keys(
    led: Ledger, clock: ManualClock
) -> None:
    tenant_id, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    first = file_refund(led, partner(), order_id, eur("50.00"))
    led.resolve_refund(support(), first, approve=True)
    # Only 150.00 is left to refund.
    with pytest.raises(InvalidInput) as caught:
        file_refund(led, partner(), order_id, eur("150.01"))
    assert caught.value.field == "amount"
    assert led.view_key(partner(), order_id)

    second = file_refund(led, partner(), order_id, eur("150.00"))
    led.resolve_refund(support(), second, approve=True)
    with pytest.raises(KeyRevoked):
        led.view_key(partner(), order_id)
    [item] = led.software(partner(), tenant_id)
    assert item.status == "refunded"
    assert item.key_available is False
    assert sorted(credit_amounts(led, clock.now.strftime("%Y-%m"), order_id), key=str) == [
        eur("150.00"),
        eur("50.00"),
    ]


def test_r10_a_declined_refund_credits_nothing(led: Ledger, clock: ManualClock) -> None:
    tenant_id, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("200.00"))
    resolved = led.resolve_refund(support(), refund_id, approve=False)

    assert resolved.status == "declined"
    assert resolved.approved_amount is None
    assert resolved.resolved_by == "sam"
    statement = led.monthly_credits(partner(), clock.now.strftime("%Y-%m"))
    assert list(statement.lines) == []
    assert statement.totals.get("EUR", eur("0")) == eur("0")
    assert led.view_key(partner(), order_id)
    [item] = led.software(partner(), tenant_id)
    assert item.status == "active"
    assert item.key_available is True
    assert item.credited == eur("0")


@pytest.mark.parametrize(
    ("first", "second"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_r10_resolving_twice_is_refused(
    led: Ledger, clock: ManualClock, first: bool, second: bool
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("20.00"))
    led.resolve_refund(support(), refund_id, approve=first)
    with pytest.raises(RefundAlreadyResolved):
        led.resolve_refund(support("sid"), refund_id, approve=second)
    [refund] = led.refunds(support())
    assert refund.status == ("approved" if first else "declined")
    assert refund.resolved_by == "sam"
    expected = [eur("20.00")] if first else []
    assert credit_amounts(led, clock.now.strftime("%Y-%m"), order_id) == expected


@pytest.mark.parametrize(
    "roles",
    [(Role.ADMIN_AGENT,), (Role.GLOBAL_ADMIN,), (Role.ADMIN_AGENT, Role.GLOBAL_ADMIN)],
)
def test_r10_partner_users_cannot_resolve(
    led: Ledger, clock: ManualClock, roles: tuple[Role, ...]
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("20.00"))
    with pytest.raises(AccessDenied):
        led.resolve_refund(partner("pat", *roles), refund_id, approve=True)
    [refund] = led.refunds(partner())
    assert refund.status == "pending"
    assert credit_amounts(led, clock.now.strftime("%Y-%m"), order_id) == []


def test_r10_a_partner_user_with_the_support_role_is_not_support(
    led: Ledger, clock: ManualClock
) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("20.00"))
    with pytest.raises(AccessDenied):
        led.resolve_refund(partner("pat", Role.SUPPORT), refund_id, approve=True)
    assert led.refunds(partner())[0].status == "pending"


def test_r10_another_partners_refund_is_not_found(led: Ledger, clock: ManualClock) -> None:
    _, order_id = tenant_with_order(led, quantity=2)
    clock.advance(PAST_WINDOW)
    refund_id = file_refund(led, partner(), order_id, eur("20.00"))
    for roles in [(Role.ADMIN_AGENT,), (Role.GLOBAL_ADMIN,)]:
        with pytest.raises(RefundNotFound):
            led.resolve_refund(partner("olga", *roles, partner_id="P2"), refund_id, approve=True)
    assert led.refunds(partner())[0].status == "pending"


def test_r10_an_unknown_refund_is_not_found(led: Ledger) -> None:
    with pytest.raises(RefundNotFound):
        led.resolve_refund(support(), uuid4(), approve=True)
    assert issubclass(RefundNotFound, OrderNotFound)


def test_r10_refunds_in_another_currency_are_credited_in_it(
    led: Ledger, clock: ManualClock
) -> None:
    _, order_id = tenant_with_order(led, unit_price=Money("1500", "JPY"), quantity=3)
    clock.advance(PAST_WINDOW)
    with pytest.raises(InvalidInput) as caught:
        file_refund(led, partner(), order_id, eur("10.00"))
    assert caught.value.field == "amount"
    refund_id = file_refund(led, partner(), order_id, Money("4000", "JPY"))
    led.resolve_refund(support(), refund_id, approve=True, amount=Money("3999", "JPY"))
    statement = led.monthly_credits(partner(), clock.now.strftime("%Y-%m"))
    assert [line.amount for line in statement.lines] == [Money("3999", "JPY")]
    assert statement.totals["JPY"].amount == Decimal("3999")
