"""R14 keys: a key check at open, envelope encryption, rotation and rewrap, key files.

Ciphertext of each licence key sits in its ``Licence.Issued`` event, sealed
under a per-order data key; the data keys sit in ``ledger_wrapped_keys``,
wrapped under the secret key; ``ledger_key_check`` holds the secret key's
check value. Rotation (``previous_keys=``, ``rewrap_keys()``) never edits
an event.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger import Ledger
from ledger.errors import ConfigurationError
from ledger.keys import key_id
from ledger.stores import parse_store_url
from tests.support import QUIET, ManualClock, buy, footprint, partner, tenant_with_order
from tests.test_event_schemas import V1_SECRET, V1_TENANT, _v1_events

AGENT = partner()


def keyring_rows(led: Ledger) -> list[dict[str, Any]]:
    rows = led._parts.keyring._run(
        [("SELECT name, key_id, wrapped FROM {ledger_wrapped_keys} ORDER BY name", ())],
        commit=False,
    )
    return [dict(row) for row in rows]


def recorded_key_id(led: Ledger) -> str | None:
    return led._parts.keyring.recorded_key_id()


def stored_events(led: Ledger) -> list[tuple[Any, ...]]:
    """Every stored event exactly as stored: rewrapping must not change one byte."""
    recorder = led._uow.events.recorder
    return [
        (n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
        for n in recorder.select_notifications(start=None, limit=10_000)
    ]


def history(led: Ledger) -> tuple[UUID, dict[UUID, str]]:
    tenant_id, first = tenant_with_order(led)
    second = buy(led, tenant_id)
    return tenant_id, {order: led.view_key(AGENT, order) for order in (first, second)}


def open_ledger(url: str, secret: bytes | None = None, **kwargs: Any) -> Ledger:
    return Ledger.open(url, clock=ManualClock(), secret_key=secret, logger=QUIET, **kwargs)


# -- the key check ---------------------------------------------------------------------------


def test_r14_the_store_records_the_keys_check_value_never_the_key(durable_url: str) -> None:
    secret = os.urandom(32)
    with open_ledger(durable_url, secret) as led:
        _, keys = history(led)
        assert recorded_key_id(led) == key_id(secret)
        rows = keyring_rows(led)
        assert {row["name"] for row in rows} >= {"root", *(f"order:{o}" for o in keys)}
        assert {row["key_id"] for row in rows} == {key_id(secret)}
        dump = json.dumps(rows).encode()
        for form in (secret, base64.b64encode(secret), base64.urlsafe_b64encode(secret)):
            assert form not in dump
        assert secret.hex().encode() not in dump
        # The unwrapped data keys are nowhere in the table either.
        for data_key in led._vault._cache.values():
            assert base64.b64encode(data_key) not in dump
            assert data_key.hex().encode() not in dump


def test_r14_a_wrong_key_is_refused_at_open_before_anything_is_written(durable_url: str) -> None:
    secret = os.urandom(32)
    with open_ledger(durable_url, secret) as led:
        _, keys = history(led)
        led.catch_up()
        before = (footprint(led), keyring_rows(led), recorded_key_id(led))
    for wrong in (os.urandom(32), base64.urlsafe_b64encode(os.urandom(32)).decode()):
        with pytest.raises(ConfigurationError, match="another secret key"):
            open_ledger(durable_url, wrong)
    with open_ledger(durable_url, secret) as led:
        assert (footprint(led), keyring_rows(led), recorded_key_id(led)) == before
        assert {order: led.view_key(AGENT, order) for order in keys} == keys


def test_r14_an_existing_sqlite_store_without_its_key_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as led:
        history(led)
    key_file = tmp_path / "ledger.db.key"
    saved = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(ConfigurationError, match=r"key file .* is missing"):
        open_ledger(url)
    assert not key_file.exists(), "a fresh key was made for an existing store"
    key_file.write_bytes(saved)
    key_file.chmod(0o644)  # restored as a plain file: readable by others, refused
    with pytest.raises(
        ConfigurationError, match=r"may be read by its group or others \(mode 0644\)"
    ):
        open_ledger(url)
    key_file.chmod(0o600)
    with open_ledger(url) as led:
        assert led.software(AGENT, _first_tenant(led))


def _first_tenant(led: Ledger) -> UUID:
    rows = led._views.query("SELECT tenant_id FROM {ledger_software} LIMIT 1", ())
    return UUID(rows[0]["tenant_id"])


def test_r14_an_existing_postgres_store_without_its_key_file_here_is_refused(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)
    with open_ledger(postgres_url) as led:
        history(led)
        key_file = led._parts.store.key_file
    assert key_file is not None
    assert key_file.exists()
    key_file.unlink()
    with pytest.raises(ConfigurationError, match="missing on this host"):
        open_ledger(postgres_url)
    assert not key_file.exists()


def test_r14_a_key_that_is_not_32_bytes_of_base64_is_refused() -> None:
    for bad in ("short", "x" * 43, "x" * 42 + "!=", b"\xff" * 16, 123, 3.5):
        with pytest.raises(ConfigurationError):
            Ledger.open(secret_key=bad)  # type: ignore[arg-type]


# -- rotation ---------------------------------------------------------------------------------


def test_r14_rotation_reads_old_keys_seals_new_ones_and_rewrap_frees_the_old_key(
    durable_url: str,
) -> None:
    old, new = os.urandom(32), os.urandom(32)
    with open_ledger(durable_url, old) as led:
        tenant_id, keys = history(led)
        mac = led._vault.audit_mac_key()

    # The new key alone cannot open what the old one wrapped; the old key alone is refused
    # once the store has moved on.
    with pytest.raises(ConfigurationError):
        open_ledger(durable_url, new)
    with open_ledger(durable_url, new, previous_keys=[old]) as led:
        assert recorded_key_id(led) == key_id(new)
        assert {order: led.view_key(AGENT, order) for order in keys} == keys
        fresh = buy(led, tenant_id)
        keys[fresh] = led.view_key(AGENT, fresh)
        wrapped = {row["name"]: row["key_id"] for row in keyring_rows(led)}
        assert wrapped[f"order:{fresh}"] == key_id(new)
        assert led._vault.audit_mac_key() == mac
    with pytest.raises(ConfigurationError, match="not given"):
        open_ledger(durable_url, new)
    with pytest.raises(ConfigurationError, match="another secret key"):
        open_ledger(durable_url, old)

    with open_ledger(durable_url, new, previous_keys=[old]) as led:
        events_before = stored_events(led)
        moved = led.rewrap_keys()
        assert moved == 3  # the two data keys wrapped under the old key, and the root key
        assert led.rewrap_keys() == 0
        assert stored_events(led) == events_before, "rewrapping changed a stored event"
        assert {row["key_id"] for row in keyring_rows(led)} == {key_id(new)}

    with open_ledger(durable_url, new) as led:  # the old key is no longer needed
        assert {order: led.view_key(AGENT, order) for order in keys} == keys
        assert led._vault.audit_mac_key() == mac
        assert led.audit.verify().ok


def test_r14_a_store_written_before_envelope_encryption_rotates_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    with open_ledger(url, V1_SECRET) as empty:
        empty._uow.events.recorder.insert_events(_v1_events())
    clock_at = datetime(2026, 12, 20, tzinfo=UTC)
    with Ledger.open(url, secret_key=V1_SECRET, clock=ManualClock(clock_at), logger=QUIET) as led:
        items = led.software(AGENT, V1_TENANT)
        plan = next(item.order_id for item in items if item.title == "Project Plan 3")
        v1_key = led.view_key(AGENT, plan)
    new = os.urandom(32)
    with Ledger.open(
        url, secret_key=new, previous_keys=[V1_SECRET], clock=ManualClock(clock_at), logger=QUIET
    ) as led:
        assert led.view_key(AGENT, plan) == v1_key
        events_before = stored_events(led)
        assert led.rewrap_keys() == 2  # the store's original key, as 'legacy', and the root
        assert stored_events(led) == events_before
    with Ledger.open(url, secret_key=new, clock=ManualClock(clock_at), logger=QUIET) as led:
        assert led.view_key(AGENT, plan) == v1_key


def test_r14_a_missing_data_key_is_a_configuration_error_and_records_nothing(
    durable_url: str,
) -> None:
    with open_ledger(durable_url, os.urandom(32)) as led:
        _, keys = history(led)
        order_id = next(iter(keys))
        led._parts.keyring._run(
            [("DELETE FROM {ledger_wrapped_keys} WHERE name = ?", (f"order:{order_id}",))],
            commit=True,
        )
        led._vault._cache.clear()
        led.catch_up()
        before = footprint(led)
        with pytest.raises(ConfigurationError, match="data key of order"):
            led.view_key(AGENT, order_id)
        assert footprint(led) == before


def test_r14_audit_mac_key_is_32_bytes_per_store_for_its_whole_life(tmp_path: Path) -> None:
    secret = os.urandom(32)
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    with open_ledger(first, secret) as a, open_ledger(second, secret) as b:
        mac = a._vault.audit_mac_key()
        assert len(mac) == 32
        assert isinstance(mac, bytes)
        assert mac != b._vault.audit_mac_key(), "two stores with one secret share no MAC key"
        assert mac != secret
    with open_ledger(first, secret) as a:
        assert a._vault.audit_mac_key() == mac


def test_r14_download_links_keep_their_signature_across_rotation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    old, new = os.urandom(32), os.urandom(32)
    with open_ledger(url, old) as led:
        signature = led._vault.sign_link("order", "2024", "en-US", "64", "1800000000")
    with open_ledger(url, new, previous_keys=[old]) as led:
        led.rewrap_keys()
    with open_ledger(url, new) as led:
        assert led._vault.sign_link("order", "2024", "en-US", "64", "1800000000") == signature


def test_r14_the_key_rotation_example_runs(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "examples" / "key_rotation.py"
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert [line.split(".")[0] for line in lines[2:]] == ["1", "2", "3", "4", "5", "6"]
    assert "rewrap_keys() moved 2 wrapped keys" in result.stdout
    assert "ledger.command" not in result.stdout


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o666])
def test_r14_a_key_file_its_group_or_others_may_read_is_refused(
    durable_url: str, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)
    with open_ledger(durable_url) as led:
        _, order_id = tenant_with_order(led)
        key_file = led._parts.store.key_file
        assert key_file is not None
        assert key_file.stat().st_mode & 0o777 == 0o600  # as the ledger makes it
        secret = key_file.read_text().strip()
        led.software(AGENT, led.customers(AGENT)[0].tenant_id)  # the views caught up
        before = footprint(led)
    key_file.chmod(mode)
    with pytest.raises(ConfigurationError, match=rf"mode {mode:04o}\): make it owner-only"):
        open_ledger(durable_url)
    # The key passed explicitly: the file is not read, and the store opens as it was.
    with open_ledger(durable_url, secret.encode()) as led:
        assert footprint(led) == before
        assert len(led.view_key(AGENT, order_id)) == 29


# -- R21: a key file made before its store -----------------------------------------------------


def _plant(path: Path, age_seconds: float) -> str:
    """A key file written by someone else ``age_seconds`` ago, owner-only: its key text."""
    material = base64.b64encode(os.urandom(32)).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(material + "\n")
    path.chmod(0o600)
    then = datetime.now(UTC).timestamp() - age_seconds
    os.utime(path, (then, then))
    return material


def test_r21_a_sqlite_key_file_planted_before_its_store_is_refused_and_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)
    database = tmp_path / "ledger.db"
    _plant(tmp_path / "ledger.db.key", age_seconds=3600)
    with pytest.raises(ConfigurationError, match=r"exists, but its store .* does not"):
        open_ledger(f"sqlite:///{database}")
    assert not database.exists(), "the store was created under a planted key"
    # Passed explicitly, the key is the caller's own: the file is not read.
    secret = os.urandom(32)
    with open_ledger(f"sqlite:///{database}", secret) as led:
        tenant_with_order(led)
        assert recorded_key_id(led) == key_id(secret)


def test_r21_a_key_file_written_just_now_is_a_concurrent_creators_and_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)
    material = _plant(tmp_path / "ledger.db.key", age_seconds=1)
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as led:
        assert recorded_key_id(led) == key_id(base64.b64decode(material))
    # Once the store exists its key file is its own, however old.
    old = datetime.now(UTC).timestamp() - 3600
    os.utime(tmp_path / "ledger.db.key", (old, old))
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as led:
        tenant_with_order(led)


def test_r21_a_postgres_key_file_planted_before_its_store_is_refused(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)
    key_file = parse_store_url(postgres_url).key_file
    assert key_file is not None
    _plant(key_file, age_seconds=3600)
    with pytest.raises(ConfigurationError, match=r"exists, but its store .* does not"):
        open_ledger(postgres_url)
    secret = os.urandom(32)
    with open_ledger(postgres_url, secret) as led:
        assert recorded_key_id(led) == key_id(secret)
        tenant_with_order(led)
