"""Stored event schemas are pinned: the JSON of every event, old events still load (R18).

``tests/golden/events.json`` holds, for every topic, its class version, its
fields and the exact stored JSON of a sample event. A change to any of them
fails here: make it a new ``class_version`` with an ``upcast_vN_vM``, add a
stored example of the old version below, then regenerate the golden file
with ``python -m tests.test_event_schemas``.

``tests/golden/v1_store.jsonl`` is a whole store written by the ledger
before v2 (topics, ids and the stored bytes, as the pre-v2 code wrote them);
it must still decode, project and take commands.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from ledger import Actor, CancellationPolicy, Ledger, Money, Product, ProductKind, Role
from ledger.aggregates.base import LedgerEvent, registered_topics
from ledger.aggregates.order import Order, purchase_fingerprint
from ledger.errors import EventDecodingError
from ledger.mapper import CompactJSONTranscoder, PydanticMapper
from tests.support import ManualClock

GOLDEN = Path(__file__).parent / "golden"
EVENTS_FILE = GOLDEN / "events.json"
V1_STORE = GOLDEN / "v1_store.jsonl"
#: The key the v1 store's licence keys were sealed with.
V1_SECRET = b"k" * 32
V1_TENANT = UUID("6f1d1a2e-1c1b-4c9e-9a55-0c6f2d1e7b11")
V1_OFFICE = Product(
    product_id="DG7GMGF0D7FV",
    sku_id="0002",
    title="Office LTSC 2024",
    kind=ProductKind.PERPETUAL,
    versions=("2024",),
    languages=("en-US",),
    bitness=(64,),
)
SAMPLE_ID = UUID("00000000-0000-4000-8000-000000000001")
SAMPLE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
mapper = PydanticMapper(transcoder=CompactJSONTranscoder())


def _sample(annotation: Any, name: str) -> Any:
    """A fixed value of a field's type, so that every event can be built the same way."""
    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return _sample(next(a for a in get_args(annotation) if a is not type(None)), name)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin is tuple:
        return (_sample(get_args(annotation)[0], name),)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    samples: dict[Any, Any] = {
        str: f"<{name}>",
        int: 64,
        bool: True,
        UUID: SAMPLE_ID,
        datetime: SAMPLE_TIME,
        Decimal: Decimal("249.00"),
    }
    return samples[annotation]


def _shape(cls: type[LedgerEvent]) -> dict[str, Any]:
    fields = {name: str(info.annotation) for name, info in cls.model_fields.items()}
    sample = cls(
        **{name: _sample(info.annotation, name) for name, info in cls.model_fields.items()}
    )
    stored = mapper.to_stored_event(sample)
    return {
        "class": cls.__qualname__,
        "class_version": cls.class_version,
        "fields": fields,
        "stored": json.loads(stored.state),
    }


def current_shapes() -> dict[str, Any]:
    topics = registered_topics()
    return {topic: _shape(topics[topic]) for topic in sorted(topics) if topic.startswith("ledger:")}


def test_every_stored_event_shape_matches_the_golden_file() -> None:
    golden = json.loads(EVENTS_FILE.read_text())
    current = current_shapes()
    assert sorted(current) == sorted(golden), "an event topic was added, renamed or removed"
    for topic, shape in golden.items():
        version = shape["class_version"]
        assert current[topic] == shape, (
            f"{topic} changed: bump its class_version, add upcast_v{version}_v{version + 1},"
            f" keep an old stored example, regenerate {EVENTS_FILE.name}"
        )


def test_every_topic_is_stable_and_versioned() -> None:
    for topic in current_shapes():
        assert topic.endswith(".v1"), (
            "a topic is a stable name; the schema version is class_version"
        )
    for name in ("Purchased", "Cancelled", "CreditIssued"):
        assert f"ledger:Order.{name}.v1" in registered_topics()
    for name in ("Issued", "KeyViewed", "Downloaded", "LinkCopied", "KeysRevoked"):
        assert f"ledger:Licence.{name}.v1" in registered_topics()


def test_no_event_field_is_a_public_value_class() -> None:
    flat = (str, int, bool, UUID, datetime, Decimal, date)
    for topic, cls in registered_topics().items():
        for name, info in cls.model_fields.items():
            value = _sample(info.annotation, name)
            items = value if isinstance(value, tuple) else (value,)
            assert all(isinstance(item, flat) for item in items), f"{topic}.{name} is not flat"


# -- old events ---------------------------------------------------------------------------


def _v1_events() -> list[StoredEvent]:
    rows = [json.loads(line) for line in V1_STORE.read_text().splitlines()]
    return [
        StoredEvent(
            originator_id=UUID(row["originator_id"]),
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=row["state"].encode(),
        )
        for row in rows
    ]


def test_every_v1_stored_event_still_decodes() -> None:
    decoded = [mapper.to_domain_event(stored) for stored in _v1_events()]
    assert len({type(event) for event in decoded}) == 12
    purchased = next(e for e in decoded if isinstance(e, Order.Purchased))
    assert (purchased.product_id, purchased.sku_id, purchased.kind) == (
        "DG7GMGF0D7FV",
        "0002",
        ProductKind.PERPETUAL,
    )
    assert (purchased.unit_price, purchased.total, purchased.currency) == (
        Decimal("249.00"),
        Decimal("498.00"),
        "EUR",
    )
    credit = next(e for e in decoded if isinstance(e, Order.CreditIssued))
    assert credit.money == Money("498.00", "EUR")


#: ``Order.Purchased`` as class version 2 stored it, before R20 recorded the policy.
V2_PURCHASED = (
    b'{"cancellable_until":"2026-11-02T09:00:00Z","class_version":2,"currency":"EUR",'
    b'"idempotency_key":null,"kind":"SUBSCRIPTION","market":"NL",'
    b'"originator_id":"00000000-0000-4000-8000-000000000001","originator_topic":"ledger:Order",'
    b'"originator_version":1,"partner_id":"P1","product_id":"CFQ7TTC0LH18","quantity":1,'
    b'"request_fingerprint":"f","sku_id":"0001","tax_inclusive":true,'
    b'"tenant_id":"00000000-0000-4000-8000-000000000001","term_days":30,'
    b'"timestamp":"2026-10-03T09:00:00Z","title":"Project Plan 3","total":"30.00",'
    b'"unit_price":"30.00","user":"ann"}'
)


def test_a_v2_purchase_belongs_to_the_built_in_default_policy() -> None:
    stored = StoredEvent(
        originator_id=SAMPLE_ID,
        originator_version=1,
        topic="ledger:Order.Purchased.v1",
        state=V2_PURCHASED,
    )
    purchased = mapper.to_domain_event(stored)
    assert isinstance(purchased, Order.Purchased)
    assert purchased.policy_id == "standard-30d/2026-11" == CancellationPolicy.default().policy_id
    assert (purchased.versions, purchased.languages, purchased.bitness) == ((), (), ())
    assert purchased.cancellable_until == SAMPLE_TIME


def test_the_v1_idempotency_fingerprint_is_unchanged() -> None:
    purchased = next(
        json.loads(e.state) for e in _v1_events() if e.topic == "ledger:Order.Purchased.v1"
    )
    assert purchased["request_fingerprint"] == purchase_fingerprint(
        V1_TENANT, V1_OFFICE, 2, Money("249.00", "EUR"), "MAK"
    )


def test_a_store_written_before_v2_opens_projects_and_takes_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    with Ledger.open(url, secret_key=V1_SECRET) as empty:
        empty._uow.events.recorder.insert_events(_v1_events())
    clock = ManualClock(datetime(2026, 12, 20, tzinfo=UTC))
    agent = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
    with Ledger.open(url, secret_key=V1_SECRET, clock=clock) as led:
        items = {item.title: item for item in led.software(agent, V1_TENANT)}
        assert items["Office LTSC 2024"].status == "cancelled"
        assert items["Project Plan 3"].credited == Money("60.00", "EUR")
        assert [line.amount for line in led.monthly_credits(agent, "2026-11").lines] == [
            Money("498.00", "EUR")
        ]
        assert led.audit.rebuild().matches
        # The keyed v1 purchase, sent again as it was, is the same order (R12).
        office_id = items["Office LTSC 2024"].order_id
        again = led.purchase(agent, V1_TENANT, V1_OFFICE, 2, Money("249.00", "EUR"), "po-1")
        assert again == office_id
        plan_id = items["Project Plan 3"].order_id
        assert len(led.view_key(agent, plan_id)) == 29
        assert led.cancellation_status(agent, plan_id).reason == "window_closed"


def test_an_unknown_topic_is_an_event_decoding_error_and_imports_nothing() -> None:
    for topic in ("antigravity:x", "ledger:Order", "os:system"):
        stored = StoredEvent(
            originator_id=SAMPLE_ID, originator_version=1, topic=topic, state=b"{}"
        )
        with pytest.raises(EventDecodingError) as raised:
            mapper.to_domain_event(stored)
        assert raised.value.topic == topic


@pytest.mark.parametrize("state", [b"not json", b"[]", b'{"user": 1}', b"\xff\xfe"])
def test_damaged_bytes_are_an_event_decoding_error(state: bytes) -> None:
    stored = StoredEvent(
        originator_id=SAMPLE_ID,
        originator_version=3,
        topic="ledger:Order.Cancelled.v1",
        state=state,
    )
    with pytest.raises(EventDecodingError) as raised:
        mapper.to_domain_event(stored)
    assert raised.value.originator_version == 3


if __name__ == "__main__":
    EVENTS_FILE.write_text(json.dumps(current_shapes(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {EVENTS_FILE}")
