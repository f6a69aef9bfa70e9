"""The pydantic mapper: stable topics, exact round trips and upcasting of old events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import JSONTranscoder, StoredEvent

from ledger import Money, ProductKind
from ledger.aggregates import Licence, Order
from ledger.aggregates.base import LedgerEvent, registered_topics
from ledger.mapper import PydanticMapper
from tests.support import product

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
mapper = PydanticMapper(transcoder=JSONTranscoder())


class RenamedV2(LedgerEvent, CanMutateAggregate[Any]):
    """A test event at class_version 2: v1 stored ``who``, v2 calls it ``user``."""

    TOPIC: ClassVar[str] = "ledger-test:Renamed"
    class_version: ClassVar[int] = 2
    user: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["user"] = state.pop("who")


def test_every_event_has_a_stable_versioned_topic() -> None:
    ledger_topics = [t for t in registered_topics() if t.startswith("ledger:")]
    assert "ledger:Order.Purchased.v1" in ledger_topics
    for name in ("KeyViewed", "Downloaded", "LinkCopied", "KeysRevoked"):
        assert f"ledger:Licence.{name}.v1" in ledger_topics
    for name in ("Cancelled", "CreditIssued"):
        assert f"ledger:Order.{name}.v1" in ledger_topics
    assert all(topic.endswith(".v1") for topic in ledger_topics)


def test_purchased_round_trips_exactly() -> None:
    order = Order.purchase(
        order_id=uuid4(),
        partner_id="P1",
        tenant_id=uuid4(),
        market="AU",
        product=product(ProductKind.SUBSCRIPTION, 30),
        quantity=2,
        unit_price=Money("0.10", "EUR"),
        tax_inclusive=True,
        cancellable_until=T0 + timedelta(days=30),
        idempotency_key="k",
        request_fingerprint="f",
        user="ann",
        now=T0.astimezone(timezone(timedelta(hours=2))),
    )
    (event,) = order.collect_events()
    stored = mapper.to_stored_event(event)
    assert stored.topic == "ledger:Order.Purchased.v1"
    state = json.loads(stored.state)
    assert state["total"] == {"amount": "0.20", "currency": "EUR"}
    loaded = mapper.to_domain_event(stored)
    assert loaded == event
    assert isinstance(loaded, Order.Purchased)
    assert loaded.product.versions == ("2024",)
    assert isinstance(loaded.product.bitness, tuple)
    assert loaded.timestamp.tzinfo is UTC
    assert loaded.total == Money("0.20", "EUR")


def test_access_events_carry_no_key() -> None:
    licence = Licence.issue(
        order_id=uuid4(),
        partner_id="P1",
        tenant_id=uuid4(),
        title="Office",
        key_ciphertext="c2VhbGVk",
        versions=("2024",),
        languages=("en-US",),
        bitness=(64,),
        user="ann",
        now=T0,
    )
    licence.view_key("ann", T0)
    viewed = licence.collect_events()[-1]
    assert "key" not in json.loads(mapper.to_stored_event(viewed).state)


def test_old_event_versions_are_upcast_on_load() -> None:
    originator = uuid4()
    v1_state = {
        "originator_id": str(originator),
        "originator_version": 1,
        "timestamp": "2026-11-02T09:00:00Z",
        "who": "ann",
    }
    stored = StoredEvent(
        originator_id=originator,
        originator_version=1,
        topic=RenamedV2.TOPIC,
        state=json.dumps(v1_state).encode(),
    )
    loaded = mapper.to_domain_event(stored)
    assert isinstance(loaded, RenamedV2)
    assert loaded.user == "ann"
    restored = json.loads(mapper.to_stored_event(loaded).state)
    assert restored["class_version"] == 2
    assert restored["user"] == "ann"


def test_unknown_topic_is_refused() -> None:
    stored = StoredEvent(originator_id=uuid4(), originator_version=1, topic="x:Y", state=b"{}")
    with pytest.raises(LookupError):
        mapper.to_domain_event(stored)
