"""R14: licence keys are encrypted at rest and never logged."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from uuid import UUID

import psycopg
import pytest
import structlog
from psycopg import sql

from ledger import Actor, Ledger, ProductKind, Role
from ledger.errors import AccessDenied, InvalidInput, KeyRevoked, OrderNotFound
from tests.support import (
    ManualClock,
    customer,
    customer_admin,
    eur,
    partner,
    product,
    tenant_with_order,
)

SECRET_KEY_ENV = "LEDGER_SECRET_KEY"


def needles(key: str) -> list[bytes]:
    """The forms in which a plaintext key could sit in a store."""
    compact = key.replace("-", "")
    return [
        key.encode(),
        compact.encode(),
        key.encode("utf-16-le"),
        base64.b64encode(key.encode()),
    ]


def assert_absent(keys: list[str], haystack: bytes, where: str) -> None:
    lowered = haystack.lower()
    for key in keys:
        assert len(key) >= 20, "a licence key should be a non-trivial secret"
        for needle in needles(key):
            assert needle not in haystack, f"plaintext key found in {where}"
        assert key.encode().hex().encode() not in lowered, f"hex-encoded key found in {where}"


def make_history(led: Ledger) -> tuple[list[str], list[UUID]]:
    """Two orders whose keys are viewed, downloaded and copied; one of them is cancelled."""
    agent = partner()
    cust = customer()
    led.add_customer(agent, cust)
    keys: list[str] = []
    order_ids: list[UUID] = []
    for kind in (ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION):
        order_id = led.purchase(
            agent,
            tenant_id=cust.tenant_id,
            product=product(kind),
            quantity=2,
            unit_price=eur("49.99"),
        )
        order_ids.append(order_id)
        keys.append(led.view_key(agent, order_id))
        assert led.view_key(customer_admin(cust.tenant_id), order_id) == keys[-1]
        led.download(agent, order_id, version="2024", language="en-US", bitness=64)
        led.copy_link(agent, order_id, version="2024", language="nl-NL", bitness=32)
    led.cancel(agent, order_ids[1])
    assert len(set(keys)) == 2
    return keys, order_ids


# -- SQLite ------------------------------------------------------------------------------


def sqlite_rows_as_text(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    try:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        assert tables, "the store has no tables"
        chunks: list[bytes] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        chunks.append(value)
                    chunks.append(repr(value).encode())
        return b"\n".join(chunks)
    finally:
        conn.close()


def raw_files(path: Path) -> dict[str, bytes]:
    files = {}
    for suffix in ("", "-wal", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            files[candidate.name] = candidate.read_bytes()
    return files


def test_r14_sqlite_file_holds_no_plaintext_key(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}", clock=clock) as led:
        keys, order_ids = make_history(led)
        # While the store is open, the write-ahead log may hold the latest pages.
        live = raw_files(path)
        assert path.name in live
        for name, content in live.items():
            assert_absent(keys, content, name)
        assert_absent(keys, sqlite_rows_as_text(path), "a SELECT of every table")

    after = raw_files(path)
    for name, content in after.items():
        assert_absent(keys, content, name)
    dump = sqlite_rows_as_text(path)
    assert_absent(keys, dump, "a SELECT of every table")
    # The dump is meaningful: it does hold the orders and their (non-secret) details.
    for order_id in order_ids:
        assert str(order_id).encode() in dump or order_id.hex.encode() in dump
    assert b"Office Perpetual" in dump


def test_r14_sqlite_store_reopened_with_its_key_file_shows_the_same_key(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url, clock=clock) as led:
        keys, order_ids = make_history(led)

    key_files = sorted(tmp_path.glob("*.key"))
    assert len(key_files) == 1, key_files
    mode = stat.S_IMODE(key_files[0].stat().st_mode)
    assert mode == 0o600, oct(mode)
    key_material = key_files[0].read_text().strip()
    assert key_material
    assert_absent([key_material], sqlite_rows_as_text(tmp_path / "ledger.db"), "the store")

    with Ledger.open(url, clock=clock) as reopened:
        assert reopened.view_key(partner(), order_ids[0]) == keys[0]
        with pytest.raises(KeyRevoked):
            reopened.view_key(partner(), order_ids[1])
    assert sorted(tmp_path.glob("*.key")) == key_files
    assert key_files[0].read_text().strip() == key_material


def test_r14_an_explicit_secret_key_writes_no_key_file(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode()
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url, clock=clock, secret_key=secret) as led:
        keys, order_ids = make_history(led)
    assert list(tmp_path.glob("*.key")) == []
    assert_absent([secret], sqlite_rows_as_text(tmp_path / "ledger.db"), "the store")
    with Ledger.open(url, clock=clock, secret_key=secret) as reopened:
        assert reopened.view_key(partner(), order_ids[0]) == keys[0]


# -- PostgreSQL --------------------------------------------------------------------------


def postgres_dump(url: str) -> tuple[list[str], bytes]:
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    chunks: list[bytes] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        for table in tables:
            name = sql.Identifier(schema, table)
            as_text = sql.SQL("SELECT t::text FROM {} AS t").format(name)
            chunks.extend(row[0].encode() for row in conn.execute(as_text))
            for row in conn.execute(sql.SQL("SELECT * FROM {}").format(name)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    chunks.append(repr(value).encode())
    return tables, b"\n".join(chunks)


def test_r14_postgres_tables_hold_no_plaintext_key(postgres_url: str, clock: ManualClock) -> None:
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode()
    with Ledger.open(postgres_url, clock=clock, secret_key=secret) as led:
        keys, order_ids = make_history(led)
        tables, dump = postgres_dump(postgres_url)
    assert tables, "the schema holds no tables"
    assert_absent(keys, dump, "the PostgreSQL schema")
    assert_absent([secret], dump, "the PostgreSQL schema")
    for order_id in order_ids:
        assert str(order_id).encode() in dump
    assert b"Office Perpetual" in dump
    with Ledger.open(postgres_url, clock=clock, secret_key=secret) as reopened:
        assert reopened.view_key(partner(), order_ids[0]) == keys[0]


# -- logs --------------------------------------------------------------------------------


def test_r14_logs_never_hold_the_key_and_carry_the_context(led: Ledger) -> None:
    agent = partner()
    cust = customer()
    led.add_customer(agent, cust)
    with structlog.testing.capture_logs() as entries:
        order_id = led.purchase(
            agent,
            tenant_id=cust.tenant_id,
            product=product(),
            quantity=1,
            unit_price=eur("10.00"),
        )
        key = led.view_key(agent, order_id)
        customer_key = led.view_key(customer_admin(cust.tenant_id), order_id)
        led.download(agent, order_id, version="2024", language="en-US", bitness=64)
        led.copy_link(agent, order_id, version="2024", language="en-US", bitness=32)
        led.cancel(agent, order_id)
        with pytest.raises(KeyRevoked):
            led.view_key(agent, order_id)
    assert customer_key == key

    text = "\n".join(repr(entry) for entry in entries).encode()
    assert_absent([key], text, "the logs")

    commands: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if "command" in entry:
            commands.setdefault(entry["command"], []).append(entry)
    for command in ("purchase", "view_key", "download", "cancel"):
        assert command in commands, f"no log entry for {command}: {entries}"
        for entry in commands[command]:
            for field in ("partner_id", "order_id", "user"):
                assert field in entry, f"{command} log entry lacks {field}: {entry}"
            assert str(entry["order_id"]) == str(order_id)
    assert {e["user"] for e in commands["purchase"]} == {"ann"}
    assert {e["partner_id"] for e in commands["purchase"]} == {"P1"}
    assert {e["user"] for e in commands["view_key"]} == {"ann", "carol"}
    assert {e["user"] for e in commands["cancel"]} == {"ann"}


def test_r14_logs_of_a_failed_command_hold_no_key(led: Ledger) -> None:
    agent = partner()
    tenant_id, order_id = tenant_with_order(led)
    key = led.view_key(agent, order_id)
    outsider = Actor(user="olga", roles=partner().roles, partner_id="P2")
    with structlog.testing.capture_logs() as entries:
        with pytest.raises(OrderNotFound):
            led.view_key(outsider, order_id)
        with pytest.raises(AccessDenied):
            led.view_key(partner("sue", Role.SALES_AGENT), order_id)
        with pytest.raises(InvalidInput):
            led.download(agent, order_id, version="1999", language="en-US", bitness=64)
        assert led.view_key(customer_admin(tenant_id), order_id) == key
    assert entries, "commands should be logged"
    assert_absent([key], "\n".join(repr(e) for e in entries).encode(), "the logs")
