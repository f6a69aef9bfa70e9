"""R18: sealed events. Rows written, edited, moved or removed behind the ledger's back fail
`verify` (with and without a digest) at the first bad position; an export is checkable offline.

The tampering works on the raw store, the way someone with database access but
without the secret key would: SQLite's ``stored_events`` (rowid = position) and
PostgreSQL's ``ledger_events`` (notification_id = position).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import psycopg
import pytest

from ledger import Ledger, Role
from ledger.audit import AuditDigest, verify_export
from ledger.errors import ProjectionError
from tests.conftest import POSTGRES_URL
from tests.support import AGENT, ManualClock, partner, tenant_with_order
from tests.test_event_schemas import V1_SECRET, _v1_events

SECRET = b"s" * 32
READER = partner("gail", Role.GLOBAL_ADMIN)


def history(led: Ledger, clock: ManualClock) -> None:
    """Twelve events: two orders with licences, views, a download, a cancellation."""
    _, keep = tenant_with_order(led)
    _, cancelled = tenant_with_order(led)
    led.view_key(AGENT, keep)
    led.download(AGENT, keep, "2024", "en-US", 64)
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, cancelled)


# -- the raw store ---------------------------------------------------------------------------


class RawStore:
    """Rows of the event table by position, and writes that bypass the ledger."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:///")

    def _pg(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(POSTGRES_URL, autocommit=True)
        schema = parse_qs(urlsplit(self.url).query)["schema"][0]
        conn.execute(f'SET search_path TO "{schema}"')
        return conn

    def _run(self, sqlite_sql: str, pg_sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.sqlite:
            with sqlite3.connect(self.url[len("sqlite:///") :]) as conn:
                return conn.execute(sqlite_sql, params).fetchall()
        with self._pg() as conn:
            cursor = conn.execute(pg_sql.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def row(self, position: int) -> tuple[str, int, str, bytes]:
        [(originator_id, version, topic, state)] = self._run(
            "SELECT originator_id, originator_version, topic, state FROM stored_events"
            " WHERE rowid = ?",
            "SELECT originator_id::text, originator_version, topic, state FROM ledger_events"
            " WHERE notification_id = ?",
            (position,),
        )
        return str(originator_id), int(version), str(topic), bytes(state)

    def head(self) -> int:
        [(head,)] = self._run(
            "SELECT MAX(rowid) FROM stored_events", "SELECT MAX(notification_id) FROM ledger_events"
        )
        return int(head)

    def set_state(self, position: int, state: bytes) -> None:
        self._run(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            "UPDATE ledger_events SET state = ? WHERE notification_id = ?",
            (state, position),
        )

    def delete_from(self, position: int, through: int) -> None:
        last = through
        self._run(
            "DELETE FROM stored_events WHERE rowid >= ? AND rowid <= ?",
            "DELETE FROM ledger_events WHERE notification_id >= ? AND notification_id <= ?",
            (position, last),
        )

    def insert(
        self, position: int, originator_id: str, version: int, topic: str, state: bytes
    ) -> None:
        stored_id = UUID(originator_id).hex if self.sqlite else originator_id
        self._run(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?, ?)",
            "INSERT INTO ledger_events (notification_id, originator_id, originator_version,"
            " topic, state) VALUES (?, ?, ?, ?, ?)",
            (position, stored_id, version, topic, state),
        )

    def shift_up(self, position: int) -> None:
        """Make room at ``position``: every later row moves one place up."""
        for moving in range(self.head(), position - 1, -1):
            self._run(
                "UPDATE stored_events SET rowid = rowid + 1 WHERE rowid = ?",
                "UPDATE ledger_events SET notification_id = notification_id + 1"
                " WHERE notification_id = ?",
                (moving,),
            )


# -- the tampering cases: each returns the first position that must be reported ------------


def edit_a_byte(raw: RawStore, head: int) -> int:
    position = head - 2
    *_, state = raw.row(position)
    i = state.index(b'"user"')
    raw.set_state(position, state[:i] + b'"usEr"' + state[i + 6 :])
    return position


def delete(raw: RawStore, head: int) -> int:
    raw.delete_from(5, 5)
    return 5


def swap(raw: RawStore, head: int) -> int:
    first, second = raw.row(4), raw.row(7)
    raw.delete_from(4, 4)
    raw.delete_from(7, 7)
    raw.insert(4, *second)
    raw.insert(7, *first)
    return 4


def truncate(raw: RawStore, head: int) -> int:
    raw.delete_from(head - 3, head)
    return head - 3


def insert(raw: RawStore, head: int) -> int:
    _, _, topic, state = raw.row(3)
    raw.shift_up(6)
    raw.insert(6, str(uuid4()), 1, topic, state)
    return 6


def append_a_copied_event(raw: RawStore, head: int) -> int:
    originator_id, version, topic, state = raw.row(head)
    raw.insert(head + 1, originator_id, version + 1, topic, state)
    return head + 1


TAMPERING: list[Callable[[RawStore, int], int]] = [
    edit_a_byte,
    delete,
    swap,
    truncate,
    insert,
    append_a_copied_event,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__)
def test_r18_tampering_fails_verify_and_names_the_first_bad_position(
    durable_url: str, clock: ManualClock, tamper: Callable[[RawStore, int], int]
) -> None:
    with Ledger.open(durable_url, clock=clock, secret_key=SECRET) as led:
        history(led, clock)
        digest = led.audit.digest()
        assert led.audit.verify().ok
        assert led.audit.verify(digest).ok
    raw = RawStore(durable_url)
    bad = tamper(raw, digest.position)
    with Ledger.open(durable_url, clock=clock, secret_key=SECRET) as led:
        for result in (led.audit.verify(), led.audit.verify(digest), led.audit.verify(str(digest))):
            assert not result.ok
            assert result.broken_at == bad, result.problem
            assert result.problem
            assert str(bad) in result.problem


def test_r18_a_forged_unsealed_credit_never_reaches_the_views(
    durable_url: str, clock: ManualClock
) -> None:
    """The reported bug: a row appended straight into the events table passed verify and
    showed up in the monthly credits."""
    with Ledger.open(durable_url, clock=clock, secret_key=SECRET) as led:
        history(led, clock)
        digest = led.audit.digest()
        before = led.monthly_credits(READER, "2026-11")
    raw = RawStore(durable_url)
    credit = next(
        p for p in range(1, digest.position + 1) if raw.row(p)[2] == "ledger:Order.CreditIssued.v1"
    )
    originator_id, version, topic, state = raw.row(credit)
    body = json.loads(state[: state.index(b"\x1eseal:v1:")])
    body.update(originator_version=version + 5, amount="9999.00")
    forged = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    raw.insert(digest.position + 1, originator_id, version + 5, topic, forged)

    with Ledger.open(durable_url, clock=clock, secret_key=SECRET) as led:
        result = led.audit.verify(digest)
        assert not result.ok
        assert result.broken_at == digest.position + 1
        assert "no seal" in (result.problem or "")
        with pytest.raises(ProjectionError) as raised:
            led.monthly_credits(READER, "2026-11")
        assert raised.value.position == digest.position + 1
        # Commands still work, and the views still answer once the row is gone.
        tenant_with_order(led)
    raw.delete_from(digest.position + 1, digest.position + 1)
    with Ledger.open(durable_url, clock=clock, secret_key=SECRET) as led:
        assert led.monthly_credits(READER, "2026-11") == before


def test_r18_a_different_audit_key_is_a_different_seal(tmp_path: Path, clock: ManualClock) -> None:
    url = f"sqlite:///{tmp_path / 'keyed.db'}"
    with Ledger.open(url, clock=clock, secret_key=SECRET, audit_key=b"a" * 32) as led:
        history(led, clock)
        assert led.audit.verify().ok
    with Ledger.open(url, clock=clock, secret_key=SECRET) as led:
        result = led.audit.verify()
    assert not result.ok
    assert result.broken_at == 1
    assert "seal" in (result.problem or "")


# -- exports, checked offline ------------------------------------------------------------------


def _export(led: Ledger, path: Path, format: str = "jsonl") -> list[str]:
    led.audit.export_events(path, format)  # type: ignore[arg-type]
    return path.read_text().splitlines()


def test_r18_an_export_round_trip_passes_offline(
    led: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    history(led, clock)
    digest = led.audit.digest()
    key = bytes.fromhex(led.audit.key())
    assert key == led._parts.audit_key
    for format in ("jsonl", "csv"):
        path = tmp_path / f"events.{format}"
        _export(led, path, format)
        full = verify_export(path, digest, key)
        assert full.ok, full.problem
        assert full.macs_checked
        assert full.head == digest
        assert full.checked == digest.position
        without_key = verify_export(path, str(digest))
        assert without_key.ok
        assert not without_key.macs_checked
        assert verify_export(path, audit_key=base64.b64encode(key).decode()).ok


def test_r18_an_edited_export_fails(led: Ledger, clock: ManualClock, tmp_path: Path) -> None:
    history(led, clock)
    digest = led.audit.digest()
    lines = _export(led, tmp_path / "events.jsonl")
    row = json.loads(lines[3])
    row["body"] = row["body"].replace('"user":"ann"', '"user":"eve"')
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([*lines[:3], json.dumps(row), *lines[4:]]) + "\n")
    for result in (
        verify_export(edited, digest, led._parts.audit_key),
        verify_export(edited, digest),
        verify_export(edited),
    ):
        assert not result.ok
        assert result.broken_at == row["position"]


def test_r18_a_truncated_export_fails(led: Ledger, clock: ManualClock, tmp_path: Path) -> None:
    history(led, clock)
    digest = led.audit.digest()
    lines = _export(led, tmp_path / "events.jsonl")
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-3]) + "\n")  # the last two rows and the closing line
    result = verify_export(cut)
    assert not result.ok
    assert "truncated" in (result.problem or "")
    with_digest = verify_export(cut, digest)
    assert not with_digest.ok
    assert with_digest.broken_at == digest.position
    # A forged closing line: the digest or the key still notices.
    last_kept = json.loads(lines[-4])
    forged_end = {
        "end": True,
        "count": len(lines) - 4,
        "head": f"{last_kept['position']}:{last_kept['chain_hash']}",
        "mac": None,
    }
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join([*lines[:-3], json.dumps(forged_end)]) + "\n")
    assert verify_export(forged).ok  # without a digest or the key, a shorter export is consistent
    assert not verify_export(forged, digest).ok
    assert not verify_export(forged, audit_key=led._parts.audit_key).ok


def test_r18_verify_export_refuses_what_is_not_an_export(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("hello\n")
    assert not verify_export(junk).ok
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert not verify_export(empty).ok


def test_r18_an_empty_ledger_exports_and_verifies(led: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    assert led.audit.export_events(path) == 0
    assert verify_export(path, led.audit.digest()).ok


# -- a store written before sealing ---------------------------------------------------------


def test_r18_a_pre_sealing_store_is_sealed_as_a_whole_and_forgeries_after_it_fail(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    with Ledger.open(url, secret_key=V1_SECRET) as empty:
        # Written the way the first release wrote them: no seal on any row.
        empty._uow.events.recorder.insert_events(_v1_events())
    raw = RawStore(url)
    legacy_head = raw.head()
    with Ledger.open(url, secret_key=V1_SECRET) as led:
        assert led.audit.verify().ok
        digest = led.audit.digest()
        assert digest.position == legacy_head + 1  # the AuditSeal record follows the old rows
        export = tmp_path / "v1.jsonl"
        led.audit.export_events(export)
        assert verify_export(export, digest, led._parts.audit_key).ok
    originator_id, version, topic, state = raw.row(2)
    raw.insert(legacy_head + 2, originator_id, version + 7, topic, state)  # unsealed, like them
    with Ledger.open(url, secret_key=V1_SECRET) as led:
        result = led.audit.verify(digest)
    assert not result.ok
    assert result.broken_at == legacy_head + 2
    # Editing an old, unsealed row breaks the seal over the whole pre-sealing history.
    raw.delete_from(legacy_head + 2, legacy_head + 2)
    _, _, _, first = raw.row(1)
    raw.set_state(1, first.replace(b"Contoso", b"Contosa"))
    with Ledger.open(url, secret_key=V1_SECRET) as led:
        assert not led.audit.verify().ok
        assert not led.audit.verify(digest).ok


def test_r18_digest_strings_are_checked(led: Ledger) -> None:
    for text in ("12", "x:" + "0" * 64, "3:" + "G" * 64, "3:" + "0" * 63):
        with pytest.raises(ValueError, match="digest"):
            AuditDigest.parse(text)
