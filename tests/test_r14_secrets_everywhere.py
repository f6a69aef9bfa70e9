"""R14: no issued licence key, data key or secret key, in any common encoding, is
anywhere it could be read: the raw SQLite file and its WAL, any PostgreSQL table of
the store, the logs, or the audit exports (events and activity, JSON Lines and CSV).

The history rotates its secret key half-way (``previous_keys``, ``rewrap_keys``), so
that the key table holds keys wrapped under both secret keys at some point.
"""

from __future__ import annotations

import base64
import codecs
import io
import os
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest
import structlog
from psycopg import sql

from ledger import Ledger
from ledger.application.webhooks import secret_bytes
from tests.support import (
    QUIET,
    ManualClock,
    customer,
    customer_admin,
    eur,
    partner,
    product,
    support,
)

AGENT = partner()


def encodings(secret: bytes | str) -> Iterator[bytes]:
    """The forms in which a secret could end up in a store, a log or a file."""
    raw = secret.encode() if isinstance(secret, str) else secret
    forms = {raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), base64.b32encode(raw)}
    forms |= {raw.hex().encode(), raw.hex().upper().encode()}
    forms |= {form.rstrip(b"=") for form in list(forms)}
    if isinstance(secret, str):
        text = secret
        for variant in (text, text.replace("-", ""), text.lower()):
            for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
                encoded = variant.encode(codec)
                forms |= {encoded, base64.b64encode(encoded), encoded.hex().encode()}
            forms.add(codecs.encode(variant, "rot13").encode())
            forms.add("".join(f"\\u{ord(c):04x}" for c in variant).encode())
    return iter(sorted(forms))


def assert_nowhere(secrets: dict[str, bytes | str], places: dict[str, bytes]) -> int:
    """Every form of every secret is absent from every place; returns how many were checked."""
    checked = 0
    for where, content in places.items():
        lowered = content.lower()
        for name, secret in secrets.items():
            for form in encodings(secret):
                assert form not in content, f"{name} found in {where} as {form[:12]!r}..."
                if isinstance(secret, str):  # a licence key, in any letter case
                    assert form.lower() not in lowered, f"{name} found in {where}"
                checked += 1
    return checked


def make_history(
    url: str, old: bytes, new: bytes, clock: ManualClock
) -> tuple[dict[str, bytes | str], list[dict[str, Any]]]:
    """Orders under the old key, a rotation, orders under the new key; every kind of access."""
    secrets: dict[str, bytes | str] = {"old secret key": old, "new secret key": new}
    with structlog.testing.capture_logs() as logs:
        for key_set in ({"secret_key": old}, {"secret_key": new, "previous_keys": [old]}):
            with Ledger.open(url, clock=clock, **key_set) as led:  # type: ignore[arg-type]
                buyer = customer()
                led.add_customer(AGENT, buyer)
                for n in range(3):
                    order_id = led.purchase(AGENT, buyer.tenant_id, product(), 2, eur("10.00"))
                    key = led.view_key(AGENT, order_id)
                    assert led.view_key(customer_admin(buyer.tenant_id), order_id) == key
                    led.download(AGENT, order_id, version="2024", language="en-US", bitness=64)
                    led.copy_link(AGENT, order_id, version="2024", language="nl-NL", bitness=32)
                    secrets[f"licence key {len(secrets)}"] = key
                    if n == 0:
                        led.cancel(AGENT, order_id)
                clock.advance(timedelta(days=31))
                refund = led.request_refund(
                    AGENT,
                    order_id,
                    reason="unused",
                    amount=eur("20.00"),
                    contact_name="Ann",
                    contact_email="ann@p1.example",
                    contact_phone="+31 20 123 4567",
                )
                led.resolve_refund(support(), refund, approve=True)
                hook = led.add_webhook(AGENT, "https://billing.example/hooks")
                assert hook.secret is not None
                secrets[f"webhook secret {len(secrets)}"] = hook.secret
                secrets[f"webhook signing key {len(secrets)}"] = secret_bytes(hook.secret)
                for n, data_key in enumerate(led._vault._cache.values()):
                    secrets[f"data key {n} ({len(secrets)})"] = data_key
                if "previous_keys" in key_set:
                    assert led.rewrap_keys() > 0
    return secrets, logs


def exports(url: str, key: bytes, clock: ManualClock, tmp_path: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    with Ledger.open(url, clock=clock, secret_key=key, logger=QUIET) as led:
        for format in ("jsonl", "csv"):
            stream = io.StringIO()
            assert led.audit.export_events(stream, format) > 0
            found[f"export_events {format}"] = stream.getvalue().encode()
            path = tmp_path / f"activity.{format}"
            led.audit.export_activity(path, date(2026, 1, 1), date(2027, 12, 31), format)
            found[f"export_activity {format}"] = path.read_bytes()
        led.view_key(AGENT, _an_order(led))
        if url.startswith("sqlite"):
            # While the store is open, the write-ahead log holds the latest pages.
            database = Path(url.removeprefix("sqlite:///"))
            for candidate in database.parent.iterdir():
                if candidate.name.startswith(database.name) and candidate.suffix != ".key":
                    found[f"{candidate.name} (open)"] = candidate.read_bytes()
    return found


def _an_order(led: Ledger) -> Any:
    rows = led._views.query(
        "SELECT order_id FROM {ledger_software} WHERE status = 'active' LIMIT 1", ()
    )
    return rows[0]["order_id"]


def sqlite_places(path: Path) -> dict[str, bytes]:
    places = {
        candidate.name: candidate.read_bytes()
        for candidate in path.parent.iterdir()
        if candidate.name.startswith(path.name) and not candidate.name.endswith(".key")
    }
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            places[f"table {table}"] = repr(rows).encode() + b"".join(
                value for row in rows for value in row if isinstance(value, bytes)
            )
    return places


def postgres_places(url: str) -> dict[str, bytes]:
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    places: dict[str, bytes] = {}
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
            text = conn.execute(sql.SQL("SELECT t::text FROM {} AS t").format(name)).fetchall()
            rows = conn.execute(sql.SQL("SELECT * FROM {}").format(name)).fetchall()
            places[f"table {table}"] = repr(text).encode() + b"".join(
                bytes(value)
                for row in rows
                for value in row
                if isinstance(value, bytes | memoryview)
            )
    return places


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_r14_no_key_in_any_encoding_in_the_store_the_logs_or_the_exports(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = ManualClock()
    old, new = os.urandom(32), os.urandom(32)
    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    secrets, logs = make_history(url, old, new, clock)
    assert sum(name.startswith("licence key") for name in secrets) == 6
    assert sum(name.startswith("data key") for name in secrets) >= 6
    places = sqlite_places(tmp_path / "ledger.db") if store == "sqlite" else postgres_places(url)
    assert any(b"ledger_wrapped_keys" in where.encode() for where in places)
    places["logs"] = repr(logs).encode()
    places.update(exports(url, new, clock, tmp_path))
    checked = assert_nowhere(secrets, places)
    assert checked > 5_000
    request.node.user_properties.append(
        (
            "secrets",
            f"secrets on {store}: {len(secrets)} keys x their encodings, {checked} checks over"
            f" {len(places)} places (raw files, tables, logs, exports): none found",
        )
    )
