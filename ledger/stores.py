"""Store URL → eventsourcing configuration and the secret key that goes with it.

This is the only module that knows eventsourcing's environment keys; the
application is built from the mapping returned here and ignores
``os.environ`` (see `ledger.eventstore`), so nothing leaks in from the shell.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import structlog

from ledger import keys
from ledger.errors import ConfigurationError, InvalidInput

StoreKind = Literal["memory", "sqlite", "postgres"]

SECRET_KEY_ENV = "LEDGER_SECRET_KEY"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Serialises DDL between processes: eventsourcing's CREATE statements race otherwise.
_DDL_LOCK_ID = 0x1ED6E2

log = structlog.get_logger("ledger")


@dataclass(frozen=True)
class Store:
    """A parsed store URL."""

    kind: StoreKind
    env: dict[str, str] = field(default_factory=dict)
    sqlite_path: Path | None = None
    postgres_dsn: str | None = None
    postgres_schema: str = "public"

    @property
    def description(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        if self.kind == "postgres":
            return f"postgresql (schema {self.postgres_schema})"
        return "memory://"


def parse_store_url(url: str | None) -> Store:
    if url is None or url == "memory://":
        return _memory()
    if not isinstance(url, str):
        raise InvalidInput("url", f"must be a str, got {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(url)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres(url)
    raise InvalidInput(
        "url", f"unsupported store URL {url!r}: use memory://, sqlite:/// or postgresql://"
    )


def _memory() -> Store:
    # One shared-cache database per Ledger: the pool's connections see the same
    # data, and it disappears with the Ledger.
    name = f"file:ledger-{uuid.uuid4().hex}?mode=memory&cache=shared"
    return Store(
        "memory", env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": name}
    )


def _sqlite(url: str) -> Store:
    path_text = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
    if not path_text:
        raise InvalidInput("url", "a SQLite URL needs a path: sqlite:///ledger.db")
    if path_text == ":memory:":
        return _memory()
    path = Path(unquote(path_text)).expanduser().resolve()
    if not path.parent.is_dir():
        raise InvalidInput("url", f"directory {path.parent} does not exist")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "30",
    }
    return Store("sqlite", env=env, sqlite_path=path)


def _postgres(url: str) -> Store:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    schema = query.pop("schema", ["public"])[0]
    if not _SCHEMA_NAME.match(schema):
        raise InvalidInput("url", f"schema {schema!r} must be a lower-case SQL identifier")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or not parts.hostname:
        raise InvalidInput("url", "a PostgreSQL URL needs a host and a database name")
    user = unquote(parts.username or os.environ.get("USER", "postgres"))
    password = unquote(parts.password or "")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": password,
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": query.pop("pool_size", ["2"])[0],
        "POSTGRES_MAX_OVERFLOW": query.pop("max_overflow", ["8"])[0],
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
    }
    if query:
        raise InvalidInput("url", f"unknown PostgreSQL URL parameters: {sorted(query)}")
    dsn = psycopg.conninfo.make_conninfo(
        host=parts.hostname, port=parts.port or 5432, dbname=dbname, user=user, password=password
    )
    return Store("postgres", env=env, postgres_dsn=dsn, postgres_schema=schema)


@contextlib.contextmanager
def schema_migration(store: Store) -> Iterator[None]:
    """Hold the DDL lock while the tables are created; a no-op for SQLite."""
    if store.kind != "postgres":
        yield
        return
    assert store.postgres_dsn is not None
    try:
        conn = psycopg.connect(store.postgres_dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ConfigurationError(f"cannot connect to PostgreSQL: {exc}") from exc
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_DDL_LOCK_ID,))
        try:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{store.postgres_schema}"')
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_DDL_LOCK_ID,))


def resolve_secret_key(store: Store, secret_key: str | bytes | None) -> bytes:
    """Explicit key → ``LEDGER_SECRET_KEY`` → a key file owned by this store (R14)."""
    if secret_key is not None:
        return keys.decode_key(secret_key)
    from_env = os.environ.get(SECRET_KEY_ENV)
    if from_env:
        return keys.decode_key(from_env)
    if store.kind == "memory":
        return os.urandom(keys.KEY_BYTES)
    if store.kind == "sqlite":
        assert store.sqlite_path is not None
        return keys.load_or_create_key_file(
            store.sqlite_path.with_name(store.sqlite_path.name + ".key")
        )
    key_dir = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "ledger"
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = store.env
    key_file = key_dir / (
        f"{env['POSTGRES_HOST']}-{env['POSTGRES_PORT']}-{env['POSTGRES_DBNAME']}"
        f"-{store.postgres_schema}.key"
    )
    log.warning(
        "secret_key_from_local_file",
        path=str(key_file),
        hint=f"pass secret_key= or set {SECRET_KEY_ENV} so that every host shares one key",
    )
    return keys.load_or_create_key_file(key_file)
