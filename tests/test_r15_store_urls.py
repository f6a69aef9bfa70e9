"""R15 store URLs: anything malformed is InvalidInput naming ``url``; a database that cannot
be used is a ConfigurationError. Never a raw driver, urllib or OS error, and nothing is
created on disk for a refused URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import Ledger
from ledger.errors import ConfigurationError, InvalidInput
from ledger.stores import parse_store_url
from tests.conftest import POSTGRES_URL, require_postgres
from tests.support import QUIET

PG = "postgresql://postgres@127.0.0.1"


def malformed(tmp: Path) -> list[str]:
    return [
        # not a store URL at all
        "",
        " ",
        "ledger.db",
        "mysql://localhost/db",
        "http://127.0.0.1/db",
        "memory:",
        "memory://x",
        "memory://?x=1",
        "MEMORY",
        # SQLite
        "sqlite:",
        "sqlite://",
        "sqlite:///",
        "sqlite://host/x.db",
        "sqlite://user@/x.db",
        f"sqlite:///{tmp}",
        f"sqlite:///{tmp}/",
        f"sqlite:///{tmp}/notes.txt",
        f"sqlite:///{tmp}/a%00b.db",
        f"sqlite:///{tmp}/a\x00b.db",
        f"sqlite:///{tmp}/a\nb.db",
        f"sqlite:///{tmp}/x.db?mode=ro",
        f"sqlite:///{tmp}/x.db?lock_timeout=",
        f"sqlite:///{tmp}/x.db?lock_timeout=-1",
        f"sqlite:///{tmp}/x.db?lock_timeout=99999",
        f"sqlite:///{tmp}/x.db?lock_timeout=1&lock_timeout=2",
        f"sqlite:///{tmp}/x.db#fragment",
        f"sqlite:///{tmp}/no/such/dir/x.db",
        f"sqlite:///{tmp}/" + "x" * 300 + ".db",
        "sqlite:///\ud800.db",
        # PostgreSQL
        "postgresql://",
        "postgresql:///test",
        f"{PG}",
        f"{PG}/",
        f"{PG}:99999/test",
        f"{PG}:0/test",
        f"{PG}:-1/test",
        f"{PG}:port/test",
        "postgresql://postgres@[::1/test",
        "postgresql://postgres@::1]/test",
        f"{PG}/te/st",
        f"{PG}/te%2Fst",
        f"{PG}/" + "d" * 64,
        f"{PG}/te%00st",
        f"{PG}/test?schema=",
        f"{PG}/test?schema",
        f"{PG}/test?schema=pg_catalog",
        f"{PG}/test?schema=pg_toast",
        f"{PG}/test?schema=information_schema",
        f"{PG}/test?schema=Upper",
        f"{PG}/test?schema=a-b",
        f"{PG}/test?schema=" + "s" * 64,
        f"{PG}/test?schema=a&schema=b",
        f"{PG}/test?pool_size=abc",
        f"{PG}/test?pool_size=0",
        f"{PG}/test?pool_size=1.5",
        f"{PG}/test?max_overflow=-1",
        f"{PG}/test?sslmode=disable",
        f"{PG}/test?&&",
        f"{PG}/test#fragment",
        "postgresql://post\x00gres@127.0.0.1/test",
    ]


def unusable(tmp: Path) -> list[str]:
    """Well-formed, but no database to be had there."""
    return [
        f"{PG}:1/test",  # nothing listens
        f"{PG}/no_such_database_here",
        "postgresql://no_such_role_here@127.0.0.1/test",
    ]


def test_r15_every_malformed_store_url_is_invalid_input_and_creates_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.txt").write_text("not a database")
    before = sorted(p.name for p in tmp_path.iterdir())
    urls = malformed(tmp_path)
    for url in urls:
        with pytest.raises(InvalidInput) as raised:
            Ledger.open(url, logger=QUIET)
        assert raised.value.field == "url", url
    for value in (None.__class__, 5, b"sqlite:///x.db", ["memory://"]):
        with pytest.raises(InvalidInput):
            Ledger.open(value, logger=QUIET)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert len(urls) >= 44


def test_r15_a_database_that_cannot_be_reached_is_a_configuration_error(tmp_path: Path) -> None:
    require_postgres()
    for url in unusable(tmp_path):
        with pytest.raises(ConfigurationError):
            Ledger.open(url, logger=QUIET, secret_key=b"k" * 32)


def test_r15_the_accepted_url_forms(tmp_path: Path) -> None:
    assert parse_store_url(None).kind == parse_store_url("memory://").kind == "memory"
    assert parse_store_url("sqlite:///:memory:").kind == "memory"
    store = parse_store_url(f"sqlite:///{tmp_path}/a%3Fb.db?lock_timeout=7")
    assert store.sqlite_path == tmp_path / "a?b.db"  # a '?' in a file name is written %3F
    assert store.env["SQLITE_LOCK_TIMEOUT"] == "7"
    assert store.key_file == tmp_path / "a?b.db.key"
    pg = parse_store_url(f"{PG}:5433/db?schema=ledger_1&pool_size=3&max_overflow=0")
    assert (pg.postgres_schema, pg.env["POSTGRES_PORT"]) == ("ledger_1", "5433")
    assert (pg.env["POSTGRES_POOL_SIZE"], pg.env["POSTGRES_MAX_OVERFLOW"]) == ("3", "0")
    assert parse_store_url("postgres://u:p%40ss@[::1]/db").env["POSTGRES_PASSWORD"] == "p@ss"


def test_r15_a_sqlite_file_with_a_question_mark_in_its_name_is_that_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a%3Fmode=ro.db"
    with Ledger.open(url, logger=QUIET):
        pass
    assert (tmp_path / "a?mode=ro.db").exists()


def test_r15_the_default_postgres_url_of_the_suite_parses() -> None:
    assert parse_store_url(POSTGRES_URL).kind == "postgres"
