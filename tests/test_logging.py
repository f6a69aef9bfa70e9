"""The log lines: refusals with their message, reads and exports with the actor, JSON lines,
and never a caller's bound field overwritten (docs/logging.md)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture

import ledger.logging
from ledger import Ledger, Money, Role
from ledger.errors import AccessDenied, KeyRevoked
from tests.support import AGENT, ManualClock, partner, support, tenant_with_order, vendor_auditor

READER = partner("gail", Role.GLOBAL_ADMIN)


@pytest.fixture
def capture() -> LogCapture:
    return LogCapture()


@pytest.fixture
def logged_led(store_url: str, clock: ManualClock, capture: LogCapture) -> Iterator[Ledger]:
    logger = structlog.wrap_logger(None, processors=[capture])
    with Ledger.open(store_url, clock=clock, logger=logger) as led:
        yield led


def lines(capture: LogCapture, event: str) -> list[dict[str, Any]]:
    return [entry for entry in capture.entries if entry["event"] == event]


def test_log_the_callers_bound_fields_are_never_overwritten(
    store_url: str, clock: ManualClock, capture: LogCapture
) -> None:
    logger = structlog.wrap_logger(None, processors=[capture]).bind(
        store="billing-db", user="billing-service", command="nightly-run"
    )
    structlog.contextvars.bind_contextvars(order_id="billing-order-7")
    try:
        with Ledger.open(store_url, clock=clock, logger=logger) as led:
            _, order = tenant_with_order(led)
            led.cancel(AGENT, order)
    finally:
        structlog.contextvars.clear_contextvars()
    (opened,) = lines(capture, "ledger.opened")
    assert opened["store"] == "billing-db"
    assert opened["ledger_store"].startswith(("memory", "sqlite", "postgresql"))
    cancel = lines(capture, "ledger.command")[-1]
    assert (cancel["store"], cancel["user"], cancel["command"]) == (
        "billing-db",
        "billing-service",
        "nightly-run",
    )
    assert (cancel["ledger_user"], cancel["ledger_command"]) == ("ann", "cancel")
    # A context variable keeps its value too: the ledger's order id goes beside it.
    assert cancel["ledger_order_id"] == str(order)
    assert "order_id" not in cancel, "merged in by the caller's own processors, not by the ledger"
    # A field bound to the same value as the ledger's is simply shared.
    same = structlog.wrap_logger(None, processors=[capture]).bind(user="ann")
    with Ledger.open(store_url, clock=clock, logger=same) as led:
        tenant_with_order(led)
    assert lines(capture, "ledger.command")[-1]["user"] == "ann"
    assert "ledger_user" not in lines(capture, "ledger.command")[-1]


def test_log_refusals_carry_the_error_class_and_message_never_the_key(
    logged_led: Ledger, capture: LogCapture
) -> None:
    led = logged_led
    _, order = tenant_with_order(led)
    key = led.view_key(AGENT, order)
    led.cancel(AGENT, order)
    with pytest.raises(KeyRevoked) as refused:
        led.view_key(AGENT, order)
    line = lines(capture, "ledger.command")[-1]
    assert line["command"] == "view_key"
    assert line["outcome"] == "KeyRevoked"
    assert line["error"] == str(refused.value)
    assert line["order_id"] == str(order)
    assert (line["user"], line["roles"], line["partner_id"]) == ("ann", ["ADMIN_AGENT"], "P1")
    with pytest.raises(AccessDenied):
        led.cancel(partner("sid", Role.SALES_AGENT), order)
    denied = lines(capture, "ledger.command")[-1]
    assert denied["outcome"] == "AccessDenied"
    assert "allowed are partner users with ADMIN_AGENT" in denied["error"]
    assert key not in repr(capture.entries)


def test_log_reads_of_the_activity_log_credits_and_refunds_name_the_actor(
    logged_led: Ledger, capture: LogCapture, clock: ManualClock
) -> None:
    led = logged_led
    tenant_id, order = tenant_with_order(led)
    led.view_key(AGENT, order)
    day = clock().date()
    led.activity_log(READER, day, day, tenant_id=tenant_id, limit=10)
    led.monthly_credits(READER, "2026-11")
    clock.advance(timedelta(days=31))
    led.request_refund(
        AGENT,
        order,
        reason="unused",
        amount=Money("1.00", "EUR"),
        contact_name="Pat",
        contact_email="pat@p1.example",
        contact_phone="+31 20 555 0100",
    )
    led.refunds(support())
    with pytest.raises(AccessDenied):
        led.activity_log(AGENT, day, day)
    reads = lines(capture, "ledger.read")
    assert [(r["query"], r["user"], r["outcome"]) for r in reads] == [
        ("activity_log", "gail", "ok"),
        ("monthly_credits", "gail", "ok"),
        ("refunds", "sam", "ok"),
        ("activity_log", "ann", "AccessDenied"),
    ]
    activity = reads[0]
    assert activity["rows"] == 1
    assert (activity["start"], activity["end"]) == (str(day), str(day))
    assert activity["filter_tenant_id"] == str(tenant_id)
    assert activity["limit"] == 10
    assert "filter_order_id" not in activity, "filters not given are left out"
    assert reads[1]["month"] == "2026-11"
    assert reads[2]["rows"] == 1
    assert reads[2]["roles"] == ["SUPPORT"]
    assert reads[2]["partner_id"] is None
    assert "read the activity log" in reads[3]["error"]


def test_log_every_audit_export_names_who_exported(
    logged_led: Ledger, capture: LogCapture, tmp_path: Path, clock: ManualClock
) -> None:
    led = logged_led
    tenant_with_order(led)
    day = clock().date()
    with pytest.raises(AccessDenied):  # R21: every partner's history is the vendor auditor's
        led.audit.export_events(tmp_path / "refused.jsonl", actor=READER)
    led.audit.export_events(tmp_path / "events.jsonl", actor=vendor_auditor())
    led.audit.export_activity(io.StringIO(), day, day, "csv", partner_id="P1", actor=READER)
    led.audit.export_credits(io.StringIO(), "2026-11", actor=READER)
    led.audit.export_software(io.StringIO(), partner_id="P1")
    led.audit.export_credits(io.StringIO(), "2026-11", actor="ida@audit-firm")
    exports = lines(capture, "ledger.audit_export")
    assert [(e["export"], e["user"], e["outcome"]) for e in exports] == [
        ("events", "gail", "AccessDenied"),
        ("events", "vera", "ok"),
        ("activity", "gail", "ok"),
        ("credits", "gail", "ok"),
        ("software", None, "ok"),
        ("credits", "ida@audit-firm", "ok"),
    ]
    assert not (tmp_path / "refused.jsonl").exists()
    assert "roles" not in exports[5], "an operator's name, not an Actor"
    assert exports[1]["target"] == str(tmp_path / "events.jsonl")
    assert exports[1]["rows"] == 3
    assert exports[2]["target"] == "<stream>"
    assert (exports[2]["format"], exports[2]["filter_partner_id"]) == ("csv", "P1")
    assert (exports[3]["month"], exports[3]["filter_partner_id"]) == ("2026-11", "P1")
    assert exports[4]["rows"] == 1


def test_log_configure_json_writes_one_json_object_per_line(
    store_url: str, clock: ManualClock
) -> None:
    stream = io.StringIO()
    saved = structlog.get_config()
    try:
        ledger.logging.configure_json(stream)
        with Ledger.open(store_url, clock=clock) as led:
            tenant_with_order(led)
    finally:
        structlog.configure(**saved)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    commands = [r for r in records if r["event"] == "ledger.command"]
    assert [c["command"] for c in commands] == ["add_customer", "purchase"]
    first = commands[0]
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")
    assert "ledger.opened" not in {r["event"] for r in records}, "debug is below the default"


def test_log_json_logger_leaves_the_global_configuration_alone(
    store_url: str, clock: ManualClock
) -> None:
    stream = io.StringIO()
    saved = structlog.get_config()
    logger = ledger.logging.json_logger(stream).bind(service="billing")
    with Ledger.open(store_url, clock=clock, logger=logger) as led:
        tenant_with_order(led)
    assert structlog.get_config() == saved
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {r["service"] for r in records} == {"billing"}
    assert records[-1]["command"] == "purchase"


@pytest.fixture
def unconfigured_structlog() -> Iterator[None]:
    """structlog as an application that never configured it leaves it; restored after."""
    saved, was_configured = structlog.get_config(), structlog.is_configured()
    structlog.reset_defaults()
    try:
        yield
    finally:
        if was_configured:
            structlog.configure(**saved)
        else:
            structlog.reset_defaults()


def test_log_unconfigured_structlog_writes_no_info_lines_but_warnings(
    store_url: str, clock: ManualClock, unconfigured_structlog: None, capsys: Any
) -> None:
    # docs/logging.md: an application that configured nothing pays no rendering per command.
    with Ledger.open(store_url, clock=clock) as led:
        _, order = tenant_with_order(led)
        led.cancel(AGENT, order)
        with pytest.raises(KeyRevoked):
            led.view_key(AGENT, order)
    out, err = capsys.readouterr()
    assert "ledger.command" not in out + err
    ledger.logging.default_logger().warning("ledger.test_warning", hint="still shown")
    out, err = capsys.readouterr()
    assert "ledger.test_warning" in out + err
    assert "still shown" in out + err


def test_log_configuring_structlog_later_brings_the_lines_with_their_fields(
    store_url: str, clock: ManualClock, unconfigured_structlog: None, capture: LogCapture
) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        tenant_with_order(led)  # not configured yet: dropped
        structlog.configure(processors=[capture])
        _, order = tenant_with_order(led)
        led.cancel(AGENT, order)
    commands = lines(capture, "ledger.command")
    assert [c["command"] for c in commands] == ["add_customer", "purchase", "cancel"]
    cancel = commands[-1]
    assert cancel["order_id"] == str(order)
    assert (cancel["user"], cancel["partner_id"], cancel["outcome"]) == (
        AGENT.user,
        AGENT.partner_id,
        "ok",
    )
    assert cancel["log_level"] == "info"
