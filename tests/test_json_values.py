"""§8: every value the API returns has `to_dict()` with JSON-ready data only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger import Ledger, Money, ProductKind, Role
from ledger._json import json_value
from ledger.audit import verify_export
from tests.support import (
    AGENT,
    ManualClock,
    customer,
    partner,
    product,
    support,
    tenant_with_order,
)

PLAIN = (str, int, bool, type(None))


def _only_plain(data: Any, path: str = "value") -> None:
    if isinstance(data, dict):
        for key, item in data.items():
            assert isinstance(key, str), f"{path} has a non-str key {key!r}"
            _only_plain(item, f"{path}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _only_plain(item, f"{path}[{index}]")
    else:
        assert isinstance(data, PLAIN), f"{path} is a {type(data).__name__}"


def test_s8_every_returned_value_is_json_ready(led: Ledger, clock: ManualClock) -> None:
    tenant_id, order_id = tenant_with_order(led, ProductKind.SUBSCRIPTION, term_days=365)
    _, old_order = tenant_with_order(led)
    link = led.download(AGENT, order_id, "2024", "en-US", 64)
    led.view_key(AGENT, order_id)
    status = led.cancellation_status(AGENT, order_id)
    cancellation = led.cancel(AGENT, order_id)
    clock.advance(timedelta(days=31))
    refund_id = led.request_refund(
        AGENT,
        old_order,
        reason="unused",
        amount=Money("10.00", "EUR"),
        contact_name="Pat",
        contact_email="pat@p1.example",
        contact_phone="+31 20 555 0100",
    )
    resolved = led.resolve_refund(support(), refund_id, approve=True)
    reader = partner("gina", Role.GLOBAL_ADMIN)
    values: list[Any] = [
        link,
        status,
        cancellation,
        resolved,
        *led.refunds(AGENT),
        *led.software(AGENT, tenant_id),
        *led.activity_log(reader, clock().date() - timedelta(days=40), clock().date()),
        led.monthly_credits(reader, cancellation.invoice_month),
        customer(),
        Money("7", "JPY"),
    ]
    for value in values:
        data = value.to_dict()
        _only_plain(data, type(value).__name__)
        assert json.loads(json.dumps(data)) == data


def test_s8_money_uuid_and_datetimes_have_their_documented_forms(led: Ledger) -> None:
    tenant_id, order_id = tenant_with_order(led, unit_price=Money("249.5", "EUR"), quantity=2)
    (item,) = led.software(AGENT, tenant_id)
    data = item.to_dict()
    assert data["total"] == {"amount": "499.00", "currency": "EUR"}
    assert data["order_id"] == str(order_id)
    assert UUID(data["order_id"]) == order_id
    assert data["purchased_at"].endswith("Z")
    assert datetime.fromisoformat(data["purchased_at"]) == item.purchased_at
    assert data["status"] == "active"
    assert data["kind"] == "PERPETUAL"
    assert Money("1.234", "KWD").to_dict() == {"amount": "1.234", "currency": "KWD"}


def test_s8_a_non_utc_datetime_is_written_in_utc() -> None:
    plus_two = datetime(2026, 11, 2, 13, 0, tzinfo=timezone(timedelta(hours=2)))
    assert json_value(plus_two) == "2026-11-02T11:00:00Z"
    assert json_value({Role.GLOBAL_ADMIN, Role.ADMIN_AGENT}) == ["ADMIN_AGENT", "GLOBAL_ADMIN"]


def test_s8_the_audit_results_views_status_and_inputs_are_json_ready(
    led: Ledger, tmp_path: Path
) -> None:
    tenant_id, _ = tenant_with_order(led)
    export = tmp_path / "events.jsonl"
    led.audit.export_events(export)
    values: list[Any] = [
        led.audit.digest(),
        led.audit.verify(),
        led.audit.rebuild(),
        verify_export(export),
        *led.customers(AGENT),
        AGENT,
        product(),
    ]
    for value in values:
        data = value.to_dict()
        _only_plain(data, type(value).__name__)
        assert json.loads(json.dumps(data)) == data
    status = led.views_status().to_dict()
    # The one number that is not an int: a duration in seconds, never money.
    assert isinstance(status.pop("lag_seconds"), float)
    _only_plain(status, "ViewsStatus")
    assert led.audit.digest().to_dict()["digest"] == str(led.audit.digest())
    assert led.customers(AGENT)[0].to_dict()["tenant_id"] == str(tenant_id)
    assert product().to_dict()["bitness"] == [32, 64]
