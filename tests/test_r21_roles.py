"""R21 on PostgreSQL: `ledger admin roles`, and what the server refuses each role.

Each test makes a schema of its own, runs ``ledger admin roles`` on it as the
owner (twice: it is idempotent), then logs in as a member of each role and shows
what PostgreSQL allows and refuses. The events table refuses UPDATE, DELETE and
TRUNCATE to every role but its owner (a superuser included: a trigger, not only
privileges).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app
from ledger.errors import ConfigurationError, StoreUnavailable
from ledger.roles import ROLES, grant_roles
from ledger.stores import parse_store_url
from tests.conftest import POSTGRES_URL, require_postgres
from tests.support import AGENT, QUIET, ManualClock, tenant_with_order

SECRET = os.urandom(32)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A schema owned by a role of its own, with the ledger's tables and one order in it."""
    require_postgres()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    tag = secrets.token_hex(4)
    owner, schema = f"ledger_owner_{tag}", f"ledger_roles_{tag}"
    logins = {role: f"{role}_{tag}" for role in ROLES}
    admin = parse_store_url(POSTGRES_URL).postgres_dsn
    assert admin is not None
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN CREATEROLE")
        conn.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION {owner}')
    urls = {"owner": f"postgresql://{owner}@127.0.0.1:5432/test?schema={schema}"}
    try:
        with Ledger.open(
            urls["owner"], secret_key=SECRET, clock=ManualClock(), logger=QUIET
        ) as led:
            tenant_id, _ = tenant_with_order(led)
            led.software(AGENT, tenant_id)  # the views caught up
        yield {"schema": schema, "owner_role": owner, **urls, **logins}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            for login in logins.values():
                conn.execute(f"DROP ROLE IF EXISTS {login}")
            conn.execute(f"DROP OWNED BY {owner}")
            conn.execute(f"DROP ROLE IF EXISTS {owner}")


def _admin_roles(url: str) -> tuple[int, str, str]:
    key = base64.b64encode(SECRET).decode()
    result = CliRunner().invoke(
        app, ["--url", url, "admin", "roles"], env={"LEDGER_SECRET_KEY": key}
    )
    return result.exit_code, result.stdout, result.stderr


def _login(store: dict[str, str], role: str) -> str:
    """A login role in ``role``; its connection string."""
    admin = parse_store_url(POSTGRES_URL).postgres_dsn
    assert admin is not None
    login = store[role]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {role}")
    return f"host=127.0.0.1 port=5432 dbname=test user={login}"


def _refused(dsn: str, statement: str) -> str:
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as raised,
    ):
        conn.execute(statement)
    return str(raised.value)


def _allowed(dsn: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def test_admin_roles_is_idempotent_and_says_what_it_did(store: dict[str, str]) -> None:
    first = _admin_roles(store["owner"])
    again = _admin_roles(store["owner"])
    assert first[0] == 0, first
    assert again[0] == 0, again
    assert (
        f"granted ledger_writer, ledger_reader, ledger_auditor on schema {store['schema']}"
        in again[1]
    )
    assert "refuses UPDATE, DELETE and TRUNCATE" in again[1]
    admin = parse_store_url(POSTGRES_URL).postgres_dsn
    assert admin is not None
    with psycopg.connect(admin) as conn:
        found = {
            row[0]
            for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'ledger\\_%'")
        }
    assert set(ROLES) <= found


def test_what_postgres_refuses_each_role(store: dict[str, str]) -> None:
    grant_roles(parse_store_url(store["owner"]))
    events = f'"{store["schema"]}".ledger_events'
    software = f'"{store["schema"]}".ledger_software'
    keys = f'"{store["schema"]}".ledger_wrapped_keys'

    writer = _login(store, "ledger_writer")
    assert _allowed(writer, f"SELECT count(*) FROM {events}")[0][0] > 0
    assert "append-only" in _refused(writer, f"UPDATE {events} SET topic = topic")
    assert "permission denied" in _refused(writer, f"DELETE FROM {events}")
    assert "permission denied" in _refused(writer, f"TRUNCATE {events}")

    reader = _login(store, "ledger_reader")
    assert _allowed(reader, f"SELECT count(*) FROM {software}")[0][0] == 1
    assert "permission denied" in _refused(reader, f"SELECT count(*) FROM {events}")
    assert "permission denied" in _refused(reader, f"SELECT count(*) FROM {keys}")
    assert "permission denied" in _refused(reader, f"DELETE FROM {software}")

    auditor = _login(store, "ledger_auditor")
    assert _allowed(auditor, f"SELECT count(*) FROM {events}")[0][0] > 0
    assert _allowed(auditor, f"SELECT count(*) FROM {software}")[0][0] == 1
    for statement in (
        f"UPDATE {events} SET topic = topic",
        f"DELETE FROM {software}",
        f"INSERT INTO {keys} VALUES ('x', 'y', 'z')",
    ):
        assert "permission denied" in _refused(auditor, statement)

    # Not even a superuser changes an event: only the table's owner (migrations).
    admin = parse_store_url(POSTGRES_URL).postgres_dsn
    assert admin is not None
    assert "append-only" in _refused(admin, f"DELETE FROM {events}")
    assert "append-only" in _refused(admin, f"TRUNCATE {events}")
    owner = f"host=127.0.0.1 port=5432 dbname=test user={store['owner_role']}"
    with psycopg.connect(owner) as conn:
        conn.execute(f"UPDATE {events} SET topic = topic")  # allowed, and rolled back
        conn.rollback()


def _as(store: dict[str, str], role: str) -> str:
    login = store[role]
    return f"postgresql://{login}@127.0.0.1:5432/test?schema={store['schema']}"


def test_a_ledger_as_writer_works_and_as_auditor_reads_and_writes_nothing(
    store: dict[str, str],
) -> None:
    grant_roles(parse_store_url(store["owner"]))
    _login(store, "ledger_writer")
    _login(store, "ledger_auditor")
    with Ledger.open(
        _as(store, "ledger_writer"), secret_key=SECRET, clock=ManualClock(), logger=QUIET
    ) as led:
        tenant_id, order_id = tenant_with_order(led)
        assert len(led.view_key(AGENT, order_id)) == 29
        led.cancel(AGENT, order_id)
        assert led.audit.verify().ok
    with Ledger.open(
        _as(store, "ledger_auditor"),
        secret_key=SECRET,
        clock=ManualClock(),
        logger=QUIET,
        views="follower",
    ) as led:
        assert [item.status for item in led.software(AGENT, tenant_id)] == ["cancelled"]
        with pytest.raises((StoreUnavailable, ConfigurationError)):
            tenant_with_order(led)
