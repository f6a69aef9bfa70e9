"""SPEC §9: each feed type's ``data`` has a published JSON Schema (docs/feed/), pinned here.

Every type is produced by a life that touches all of them, on every store, and each
item's ``data`` must validate against its schema: a field added, renamed or retyped
in the feed without its schema (or the other way round) fails (``additionalProperties``
is false and every property is required).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ledger import Ledger, Role
from ledger.projections.feed import FEED_TYPES
from ledger.testing import ManualClock
from tests.support import AGENT, add_tenant, buy, customer, eur, partner, support

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "feed"
BILLING = partner("bill", Role.ACCOUNT_ADMIN)
SECOND = partner("olga", Role.ADMIN_AGENT, partner_id="P2")


def schema_of(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    return schema


def test_there_is_one_schema_per_feed_type_and_the_index_lists_them() -> None:
    assert sorted(path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.json")) == (
        sorted(FEED_TYPES)
    )
    index = (SCHEMAS / "README.md").read_text()
    for kind in FEED_TYPES:
        jsonschema.Draft202012Validator.check_schema(schema_of(kind))
        assert f"[`{kind}`]({kind}.schema.json)" in index


def refund(led: Ledger, order_id: Any, amount: str) -> Any:
    return led.request_refund(
        AGENT,
        order_id,
        amount=eur(amount),
        reason="too many seats",
        contact_name="Ann",
        contact_email="ann@example.com",
        contact_phone="+31201234567",
    )


def every_type(led: Ledger, clock: ManualClock) -> None:
    registered = customer()
    led.add_customer(AGENT, registered)
    led.add_customer(SECOND, registered)
    kept = buy(led, registered.tenant_id, unit_price=eur("249.00"), quantity=2)
    dropped = buy(led, add_tenant(led), unit_price=eur("10.00"))
    led.view_key(AGENT, kept)
    led.download(AGENT, kept, version="2024", language="en-US", bitness=64)
    led.copy_link(AGENT, kept, version="2024", language="nl-NL", bitness=32)
    led.cancel(AGENT, dropped)
    clock.advance(timedelta(days=40))
    led.resolve_refund(support(), refund(led, kept, "49.00"), approve=True)
    led.resolve_refund(support(), refund(led, kept, "1.00"), approve=False)


def test_every_item_validates_against_its_types_schema(led: Ledger, clock: ManualClock) -> None:
    every_type(led, clock)
    items = [*led.feed(BILLING, limit=1000).items, *led.feed(SECOND, limit=1000).items]
    assert {item.type for item in items} == set(FEED_TYPES)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for item in items:
        document = item.to_dict()
        try:
            jsonschema.validate(document["data"], schema_of(item.type), format_checker=checker)
        except jsonschema.ValidationError as error:
            pytest.fail(f"{item.type}: {error.message}")
