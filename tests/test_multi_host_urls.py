"""§12: a URL may name several hosts; ``target_session_attrs`` picks the one to use.

A host that is down is skipped, and with ``target_session_attrs=read-write`` so
is a server that accepts only reads (a standby, here a private server made
read-only): the ledger writes to the one primary, as it would in a Patroni cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger import Ledger
from ledger.errors import InvalidInput
from ledger.stores import parse_store_url
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.support import AGENT, QUIET, tenant_with_order

SECRET = os.urandom(32)


@pytest.fixture
def standby(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePostgres]:
    """A server that answers but takes no writes, as a replica does."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with private_postgres() as running:
        running.sql("ALTER SYSTEM SET default_transaction_read_only = on")
        running.sql("SELECT pg_reload_conf()")
        yield running


def _hosts(url: str, *members: str) -> str:
    """``url`` with its host:port replaced by ``members``."""
    return url.replace("127.0.0.1:5432", ",".join(members), 1)


def test_a_host_that_is_down_and_one_that_only_reads_are_skipped(
    postgres_url: str, standby: PrivatePostgres
) -> None:
    url = _hosts(postgres_url, "127.0.0.1:1", f"127.0.0.1:{standby.port}", "127.0.0.1:5432")
    url += "&target_session_attrs=read-write&connect_timeout=2"
    with Ledger.open(url, secret_key=SECRET, logger=QUIET) as led:
        tenant_id, _ = tenant_with_order(led)
        assert len(led.software(AGENT, tenant_id)) == 1
    schema = parse_store_url(postgres_url).postgres_schema
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test") as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}".ledger_events').fetchone()
    assert row is not None
    assert row[0] > 0, "the events are on the read-write server"
    with psycopg.connect(standby.url) as conn:
        found = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,))
        assert found.fetchone() == (0,), "nothing was written to the read-only one"


def test_multi_host_urls_are_parsed_and_checked() -> None:
    store = parse_store_url(
        "postgresql://u@h1:5432,h2:5433,[::1]/db?target_session_attrs=primary&schema=s"
    )
    assert (store.env["POSTGRES_HOST"], store.env["POSTGRES_PORT"]) == (
        "h1,h2,::1",
        "5432,5433,5432",
    )
    assert "target_session_attrs=primary" in (store.postgres_dsn or "")
    single = parse_store_url("postgresql://u@h/db")
    assert (single.env["POSTGRES_PORT"], single.env["LEDGER_TARGET_SESSION_ATTRS"]) == (
        "5432",
        "any",
    )
    for bad in (
        "postgresql://u@h1:5432,:5433/db",
        "postgresql://u@h1:5432,h2:x/db",
        "postgresql://u@h1/db?target_session_attrs=master",
        "postgresql://u@h1/db?target_session_attrs=any&target_session_attrs=any",
    ):
        with pytest.raises(InvalidInput) as raised:
            parse_store_url(bad)
        assert raised.value.field == "url"
