"""The trusted constructors for rows the ledger wrote itself build exactly the public values."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ledger import Actor, Money, Role
from ledger.money import stored_minor_units
from ledger.projections import trusted
from ledger.values import ActivityEntry, CreditLine, SoftwareItem


def test_uuids_are_the_uuids_of_their_text() -> None:
    uuids = trusted.UUIDs()
    for _ in range(200):
        expected = uuid4()
        built = uuids[str(expected)]
        assert built == expected
        assert hash(built) == hash(expected)
        assert (str(built), repr(built), built.version) == (
            str(expected),
            repr(expected),
            expected.version,
        )
        assert pickle.loads(pickle.dumps(built)) == expected
        assert uuids[str(expected)] is built  # built once per read
    with pytest.raises(ValueError, match="badly formed"):
        trusted.UUIDs()["not a uuid"]


def test_the_builder_makes_what_the_public_constructor_makes() -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    order, tenant = uuid4(), uuid4()
    fields = {
        "at": at,
        "user": "u",
        "action": "key_viewed",
        "tenant_id": tenant,
        "order_id": order,
        "title": "t",
        "position": 7,
    }
    public = ActivityEntry(**fields)  # type: ignore[arg-type]
    built = trusted.builder(ActivityEntry)(**fields)
    assert built == public
    assert (repr(built), built.to_dict(), built.position) == (
        repr(public),
        public.to_dict(),
        7,
    )
    with pytest.raises(AttributeError):
        built.user = "someone else"  # type: ignore[misc]
    line = {
        "order_id": order,
        "tenant_id": tenant,
        "amount": Money("1.50", "EUR"),
        "issued_at": at,
        "reason": "refund",
        "credit_id": "0b6c2b52-4b8f-5b3c-9a51-2f3d4e5f6a7b",
    }
    assert trusted.builder(CreditLine)(**line) == CreditLine(**line)  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # every field, by name: a reordered class cannot mix them up
        trusted.builder(SoftwareItem)(order, "p")


def test_the_builder_refuses_a_class_that_validates() -> None:
    assert hasattr(Actor, "__post_init__")
    with pytest.raises(TypeError):
        trusted.builder(Actor)
    assert Actor(user="a", roles={Role.ADMIN_AGENT}, partner_id="P1").user == "a"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(49800, "EUR", "498.00"), (0, "EUR", "0.00"), (5, "JPY", "5"), (12345, "KWD", "12.345")],
)
def test_stored_minor_units_keep_the_currency_digits(minor: int, currency: str, text: str) -> None:
    money = stored_minor_units(minor, currency)
    assert money == Money(text, currency)
    assert money.to_dict() == {"amount": text, "currency": currency}
    assert trusted.Amounts()[minor, currency] == money
