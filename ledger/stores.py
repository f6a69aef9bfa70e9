"""Store URL → eventsourcing configuration (and where the store's key file would be).

This is the only module that knows eventsourcing's environment keys; the
application is built from the mapping returned here and ignores
``os.environ`` (see `ledger.eventstore`), so nothing leaks in from the shell.

A URL is checked whole before anything is opened (R15): anything malformed
is `InvalidInput` naming ``url``; a well-formed URL whose database cannot be
used is a `ConfigurationError` when the store is opened.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

import psycopg

from ledger.errors import ConfigurationError, InvalidInput, StoreUnavailable

__all__ = ["Migration", "Store", "parse_store_url", "schema_migration", "session_options"]

StoreKind = Literal["memory", "sqlite", "postgres"]

MAX_URL_LENGTH = 4096
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# PostgreSQL's own schemas: tables there would mix with the catalogue.
_RESERVED_SCHEMA = re.compile(r"pg_.*|information_schema")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SQLITE_HEADER = b"SQLite format 3\x00"
# SQLite adds -wal, -shm; the ledger adds .key: each must still be a legal file name.
_LONGEST_SUFFIX = 4
_NAME_MAX = 255
_DEFAULT_SQLITE_LOCK_TIMEOUT = 30
_SQLITE_PARAMETERS = {"lock_timeout": (0, 3600)}
_POSTGRES_PARAMETERS = {
    "pool_size": (1, 100),
    "max_overflow": (0, 1000),
    "connect_timeout": (1, 300),
    "lock_timeout": (0, 3600),
    "statement_timeout": (0, 86400),
}
# Seconds. connect_timeout: libpq's, and how long a call waits for a pooled connection
# (libpq rounds anything below 2 s up to 2). lock_timeout and statement_timeout are the
# server's, set on every session; 0 is PostgreSQL's "no limit".
_DEFAULT_CONNECT_TIMEOUT = 5
_DEFAULT_LOCK_TIMEOUT = 5
_DEFAULT_STATEMENT_TIMEOUT = 60
# Serialises DDL between processes: eventsourcing's CREATE statements race otherwise.
_DDL_LOCK_ID = 0x1ED6E2
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Store:
    """A parsed store URL."""

    kind: StoreKind
    env: dict[str, str] = field(default_factory=dict)
    sqlite_path: Path | None = None
    postgres_dsn: str | None = None
    postgres_schema: str = "public"
    #: Where the secret key is kept when none is given (None: memory, a fresh key each time).
    key_file: Path | None = None
    #: Seconds to wait for a PostgreSQL connection (libpq's connect_timeout).
    connect_timeout: int = _DEFAULT_CONNECT_TIMEOUT
    #: libpq ``options`` of every session: its lock_timeout and statement_timeout.
    postgres_options: str = ""

    def files(self) -> tuple[Path, ...]:
        """The store's own files on this host: an export never writes over them (R18 v2)."""
        found: list[Path] = []
        if self.sqlite_path is not None:
            name = self.sqlite_path.name
            found.append(self.sqlite_path)
            found += [self.sqlite_path.with_name(name + suffix) for suffix in _SQLITE_SIDE_FILES]
        if self.key_file is not None:
            found.append(self.key_file)
        return tuple(found)

    @property
    def description(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        if self.kind == "postgres":
            return f"postgresql (schema {self.postgres_schema})"
        return "memory://"


def _bad(problem: str) -> InvalidInput:
    return InvalidInput("url", problem)


def parse_store_url(url: object) -> Store:
    """``None``/``memory://``, ``sqlite:///path[?lock_timeout=S]`` or
    ``postgresql://user[:password]@host[:port][,host2[:port2]...]/db[?schema=
    &target_session_attrs=&pool_size=&max_overflow=&connect_timeout=S&lock_timeout=S
    &statement_timeout=S]``."""
    if url is None:
        return _memory()
    if not isinstance(url, str):
        raise _bad(f"must be a str, got {type(url).__name__}")
    if len(url) > MAX_URL_LENGTH:
        raise _bad(f"is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url):
        raise _bad("contains control characters or surrogates")
    try:
        parts = urlsplit(url)
    except ValueError as error:  # "[::1" and the like
        raise _bad(f"is not a URL: {error}") from None
    if parts.scheme == "memory":
        if url != "memory://":
            raise _bad("a memory store is just memory://")
        return _memory()
    if parts.scheme == "sqlite":
        return _sqlite(url, parts)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres(parts)
    raise _bad("unsupported store: use memory://, sqlite:///path or postgresql://...")


def _memory() -> Store:
    # One shared-cache database per Ledger: the pool's connections see the same
    # data, and it disappears with the Ledger.
    name = f"file:ledger-{uuid.uuid4().hex}?mode=memory&cache=shared"
    return Store(
        "memory", env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": name}
    )


def _parameters(parts: SplitResult, allowed: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Known integer parameters in range, each at most once; anything else is refused."""
    if parts.fragment:
        raise _bad("a store URL has no #fragment")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _bad("its ?parameters are malformed") from None
    values: dict[str, int] = {}
    for name, text in pairs:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise _bad(f"unknown parameter {name[:40]!r} (known: {known})")
        if name in values:
            raise _bad(f"parameter {name} is given twice")
        low, high = allowed[name]
        if not re.fullmatch(r"[0-9]{1,6}", text) or not low <= int(text) <= high:
            raise _bad(f"{name} must be a whole number from {low} to {high}")
        values[name] = int(text)
    return values


def _sqlite(url: str, parts: SplitResult) -> Store:
    if not url.startswith("sqlite:///") or parts.netloc:
        raise _bad("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
    path_text = unquote(url[len("sqlite:///") :].partition("?")[0].partition("#")[0])
    parameters = _parameters(parts, {"lock_timeout": _SQLITE_PARAMETERS["lock_timeout"]})
    if not path_text:
        raise _bad("a SQLite URL needs a path: sqlite:///ledger.db")
    if _CONTROL.search(path_text):
        raise _bad("the path contains control characters (a %00 is a NUL)")
    if path_text == ":memory:":
        return _memory()
    try:
        path = Path(path_text).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as error:
        raise _bad(f"the path cannot be resolved: {error}") from None
    if len(os.fsencode(path.name)) + _LONGEST_SUFFIX > _NAME_MAX:
        raise _bad("the file name is too long (the ledger adds .key beside it)")
    if not path.parent.is_dir():
        raise _bad(f"directory {path.parent} does not exist")
    if path.is_dir():
        raise _bad(f"{path} is a directory, not a database file")
    if path.exists():
        _require_sqlite_file(path)
    lock_timeout = parameters.get("lock_timeout", _DEFAULT_SQLITE_LOCK_TIMEOUT)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        # eventsourcing treats 0 as "not set" (5 s); a minimal wait is the nearest to none.
        "SQLITE_LOCK_TIMEOUT": str(max(lock_timeout, 1)),
    }
    return Store("sqlite", env=env, sqlite_path=path, key_file=path.with_name(path.name + ".key"))


def _require_sqlite_file(path: Path) -> None:
    if not path.is_file():
        raise _bad(f"{path} is not a regular file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror}") from None
    # An empty file is a database SQLite has not written yet.
    if header and header != _SQLITE_HEADER:
        raise _bad(f"{path} is not a SQLite database")


def _hosts(parts: SplitResult) -> tuple[str, str]:
    """``h1:5432,h2:5433`` (libpq's multi-host form): the hosts and ports, comma-joined."""
    netloc = parts.netloc.rpartition("@")[2]
    hosts, ports = [], []
    for member in netloc.split(","):
        try:
            one = urlsplit(f"//{member}")
            host, port = one.hostname, one.port
        except ValueError:
            raise _bad("the port must be a number from 1 to 65535") from None
        if not host:
            raise _bad("a PostgreSQL URL needs a host: postgresql://user@host:5432/db")
        if port == 0:
            raise _bad("the port must be a number from 1 to 65535")
        hosts.append(host)
        ports.append(str(port or 5432))
    if len(hosts) > 16:
        raise _bad("at most 16 hosts")
    return ",".join(hosts), ",".join(ports)


def _postgres(parts: SplitResult) -> Store:
    host, port = _hosts(parts)
    dbname = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not dbname:
        raise _bad("a PostgreSQL URL needs a database name: postgresql://user@host/db")
    if "/" in dbname or _CONTROL.search(dbname):
        raise _bad("the database name must not contain '/' or control characters")
    if len(dbname.encode()) > 63:
        raise _bad("the database name is longer than PostgreSQL's 63 bytes")
    schema, attrs, numbers = _postgres_parameters(parts)
    user = unquote(parts.username or os.environ.get("USER", "postgres"))
    password = unquote(parts.password or "")
    if _CONTROL.search(user) or _CONTROL.search(password):
        raise _bad("the user name and password must not contain control characters")
    connect_timeout = numbers.get("connect_timeout", _DEFAULT_CONNECT_TIMEOUT)
    lock_timeout = numbers.get("lock_timeout", _DEFAULT_LOCK_TIMEOUT)
    statement_timeout = numbers.get("statement_timeout", _DEFAULT_STATEMENT_TIMEOUT)
    options = session_options(lock_timeout, statement_timeout)
    env = {
        "PERSISTENCE_MODULE": "ledger.eventstore:LedgerPostgresFactory",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": port,
        "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": password,
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(numbers.get("pool_size", 2)),
        "POSTGRES_MAX_OVERFLOW": str(numbers.get("max_overflow", 8)),
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        # eventsourcing's own SET LOCAL lock_timeout for the events table lock of an insert.
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        # libpq ``options`` of every session (`session_options`), as the factory passes them.
        "LEDGER_SESSION_OPTIONS": options,
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        # A connection the server dropped (a restart) is replaced before a call uses it.
        "POSTGRES_PRE_PING": "y",
        "LEDGER_TARGET_SESSION_ATTRS": attrs,
    }
    try:
        dsn = psycopg.conninfo.make_conninfo(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=password,
            target_session_attrs=attrs,
        )
    except psycopg.Error as error:
        raise _bad(f"cannot be made a PostgreSQL connection string: {error}") from None
    return Store(
        "postgres",
        env=env,
        postgres_dsn=dsn,
        postgres_schema=schema,
        key_file=_postgres_key_file(host, port, dbname, schema),
        connect_timeout=connect_timeout,
        postgres_options=options,
    )


def session_options(lock_timeout: int, statement_timeout: int) -> str:
    """libpq ``options`` that bound every wait of a session (seconds; 0: no limit)."""
    return f"-c lock_timeout={lock_timeout * 1000} -c statement_timeout={statement_timeout * 1000}"


#: libpq's choices of which host to use when the URL names several (§12).
_SESSION_ATTRS = ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")


def _postgres_parameters(parts: SplitResult) -> tuple[str, str, dict[str, int]]:
    """``schema`` and ``target_session_attrs`` (text), then the numeric parameters."""
    texts = {"schema": "public", "target_session_attrs": "any"}
    query = parts.query
    if any(f"{name}=" in query for name in texts):
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise _bad("its ?parameters are malformed") from None
        for name in texts:
            given = [value for key, value in pairs if key == name]
            if len(given) > 1:
                raise _bad(f"parameter {name} is given twice")
            if given:
                texts[name] = given[0]
        parts = parts._replace(
            query="&".join(f"{key}={value}" for key, value in pairs if key not in texts)
        )
    schema = texts["schema"]
    if not _SCHEMA_NAME.fullmatch(schema):
        raise _bad(
            "schema must be a lower-case SQL identifier (letters, digits, _), 1-63 characters"
        )
    if _RESERVED_SCHEMA.fullmatch(schema):
        raise _bad(f"schema {schema} belongs to PostgreSQL itself")
    if texts["target_session_attrs"] not in _SESSION_ATTRS:
        raise _bad(f"target_session_attrs must be one of {', '.join(_SESSION_ATTRS)}")
    return schema, texts["target_session_attrs"], _parameters(parts, _POSTGRES_PARAMETERS)


def _postgres_key_file(host: str, port: str, dbname: str, schema: str) -> Path:
    name = "-".join(quote(part, safe="._") for part in (host, str(port), dbname, schema))
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "ledger" / f"{name[: _NAME_MAX - _LONGEST_SUFFIX]}.key"


@dataclass
class Migration:
    """What `schema_migration` found: whether the tables are already this release's."""

    #: True: every table and index of this release exists; skip all DDL (PostgreSQL only).
    current: bool = False


@contextlib.contextmanager
def schema_migration(
    store: Store, fingerprint: str = "", tables: Sequence[str] = ()
) -> Iterator[Migration]:
    """Hold the DDL lock while the tables are created; a no-op for SQLite.

    On PostgreSQL, a schema whose recorded ``fingerprint`` (of this release's DDL) is
    the given one is current: the caller then runs no DDL at all. ``CREATE INDEX IF
    NOT EXISTS`` takes a SHARE lock on its table even when the index exists, and
    inside one transaction it held that lock while waiting for another table that a
    projector's catch-up in another process was writing, whose next write waited for
    the first: a deadlock between ``Ledger.open`` and a catch-up. Without DDL, opening
    takes no table locks. The fingerprint is recorded after the DDL succeeded. A schema
    that records it but lacks one of ``tables`` (dropped by hand, or by a test standing
    in for an older release) is migrated as usual.
    """
    if store.kind != "postgres":
        yield Migration()
        return
    assert store.postgres_dsn is not None
    try:
        conn = psycopg.connect(
            store.postgres_dsn,
            autocommit=True,
            connect_timeout=store.connect_timeout,
            options=store.postgres_options,
        )
    except psycopg.Error as exc:
        # libpq reports a server that answered and refused (a wrong user, password or
        # database) as FATAL; anything else is a server not reached (down, refusing
        # connections, timed out), which may pass.
        if "FATAL:" not in str(exc):
            raise StoreUnavailable(f"cannot reach PostgreSQL: {exc}") from exc
        raise ConfigurationError(f"cannot connect to PostgreSQL: {exc}") from exc
    schema = store.postgres_schema
    with conn:
        migration = Migration(current=_is_current(conn, schema, fingerprint, tables))
        if migration.current:
            yield migration
            return
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_DDL_LOCK_ID,))
            # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema
            # is there: a role that only owns its schema could not open the ledger.
            found = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
            ).fetchone()
            if found is None:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            # Another process may have finished the DDL while this one waited for the lock.
            migration.current = _is_current(conn, schema, fingerprint, tables)
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (_DDL_LOCK_ID,))
            raise ConfigurationError(f"cannot prepare schema {schema}: {exc}") from exc
        try:
            yield migration
            if fingerprint and not migration.current:
                _record(conn, schema, fingerprint)
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (_DDL_LOCK_ID,))


_VERSION_TABLE = "ledger_schema_version"


def _is_current(
    conn: psycopg.Connection[Any], schema: str, fingerprint: str, tables: Sequence[str]
) -> bool:
    """The schema records ``fingerprint`` and holds every one of ``tables`` (catalogue reads)."""
    if not fingerprint or _recorded(conn, schema) != fingerprint:
        return False
    try:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
            (schema, list(tables)),
        ).fetchone()
    except psycopg.Error as exc:
        raise ConfigurationError(f"cannot read schema {schema}: {exc}") from exc
    return row is not None and int(row[0]) == len(set(tables))


def _recorded(conn: psycopg.Connection[Any], schema: str) -> str | None:
    """The fingerprint of the DDL last run on the schema (None: none recorded)."""
    try:
        row = conn.execute(
            f'SELECT fingerprint FROM "{schema}".{_VERSION_TABLE} WHERE name = %s', ("ledger",)
        ).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    except psycopg.Error as exc:
        raise ConfigurationError(f"cannot read schema {schema}: {exc}") from exc
    return None if row is None else str(row[0])


def _record(conn: psycopg.Connection[Any], schema: str, fingerprint: str) -> None:
    try:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".{_VERSION_TABLE}'
            " (name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)"
        )
        conn.execute(
            f'INSERT INTO "{schema}".{_VERSION_TABLE} (name, fingerprint) VALUES (%s, %s)'
            " ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint",
            ("ledger", fingerprint),
        )
    except psycopg.Error as exc:
        raise ConfigurationError(f"cannot record the schema version in {schema}: {exc}") from exc
