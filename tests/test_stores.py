"""Store URLs and configuration: nothing leaks in from the environment."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.errors import ConfigurationError, InvalidInput


@pytest.mark.parametrize(
    "url",
    [
        "mysql://localhost/db",
        "sqlite://",
        "sqlite:///no/such/directory/ledger.db",
        "postgresql://postgres@127.0.0.1:5432/test?schema=Bad-Name",
        "postgresql://postgres@127.0.0.1:5432/test?colour=blue",
        "postgresql:///test",
    ],
)
def test_unusable_store_urls_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Ledger.open(url)
    assert raised.value.field == "url"


def test_shell_environment_does_not_change_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("LEDGER_PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("CIPHER_TOPIC", "eventsourcing.cipher:AESCipher")
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}"):
        pass
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"stored_events", "tracking", "ledger_software"} <= tables


def test_sqlite_key_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}"):
        pass
    key_file = tmp_path / "ledger.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_malformed_secret_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Ledger.open(secret_key="not-a-key")


def test_clock_must_be_callable() -> None:
    with pytest.raises(InvalidInput) as raised:
        Ledger.open(clock="now")  # type: ignore[arg-type]
    assert raised.value.field == "clock"
