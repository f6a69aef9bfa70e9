"""``ledger feed``: JSON Lines, the cursor, types, --follow (SPEC §9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger, Money
from ledger.cli import app
from tests.support import customer, partner, product

SECRET = "c2VjcmV0LWtleS1mb3ItZm9sbG93ZXItdGVzdHMtMzI="
BILL = ("--as", "bill", "--role", "ACCOUNT_ADMIN", "--partner", "P1")


@pytest.fixture
def store(durable_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LEDGER_URL", durable_url)
    monkeypatch.setenv("LEDGER_SECRET_KEY", SECRET)
    with Ledger.open(durable_url, secret_key=SECRET) as led:
        registered = customer()
        led.add_customer(partner(), registered)
        order_id = led.purchase(partner(), registered.tenant_id, product(), 2, Money("5.00", "EUR"))
        led.cancel(partner(), order_id)
    return durable_url


def feed(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, [*BILL, "feed", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def test_feed_prints_one_json_item_a_line_and_continues_after_a_cursor(store: str) -> None:
    code, first, _ = feed("--limit", "2")
    assert code == 0
    assert [item["type"] for item in first] == ["customer.registered", "order.purchased"]
    code, rest, _ = feed("--after", str(first[-1]["cursor"]))
    assert code == 0
    assert [item["type"] for item in rest] == [
        "order.cancelled",
        "credit.issued",
        "licence.keys_revoked",
    ]
    assert rest[1]["data"]["amount"] == {"amount": "10.00", "currency": "EUR"}


def test_feed_types_filter(store: str) -> None:
    code, items, _ = feed("--type", "credit.issued", "--type", "order.cancelled")
    assert code == 0
    assert [item["type"] for item in items] == ["order.cancelled", "credit.issued"]


@pytest.mark.parametrize(
    ("args", "named"),
    [(("--after", "x"), "after"), (("--limit", "0"), "limit"), (("--type", "nope"), "types")],
)
def test_feed_bad_input_exits_2_naming_the_field(
    store: str, args: tuple[str, ...], named: str
) -> None:
    code, items, stderr = feed(*args)
    assert (code, items) == (2, [])
    assert named in stderr


def test_feed_follow_prints_items_as_they_are_recorded(store: str, tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_URL": store, "LEDGER_SECRET_KEY": SECRET}
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            *BILL,
            "feed",
            "--follow",
            "--type",
            "order.purchased",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())
        assert first["type"] == "order.purchased"
        with Ledger.open(store, secret_key=SECRET) as led:
            tenant_id = first["tenant_id"]
            later = led.purchase(partner(), tenant_id, product(), 1, Money("7.00", "EUR"))
        started = time.monotonic()
        second = json.loads(follower.stdout.readline())
        assert second["order_id"] == str(later)
        assert time.monotonic() - started < 30
    finally:
        follower.kill()
        follower.wait()
