"""From a store URL to the parts of a working ledger: event store, views and key vault.

Opening checks everything before it writes anything (R14, R15): the URL,
the keys given, that an existing SQLite store still has its key file, and
that the secret key is the store's, before a single row is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from uuid import UUID

from eventsourcing.persistence import OperationalError
from eventsourcing.utils import Environment

from ledger import keyfiles, logs
from ledger.aggregates import Licence
from ledger.audit.export import audit_key_from
from ledger.audit.trail import TABLE as TRAIL_TABLE
from ledger.audit.trail import Trail
from ledger.audit.trail import ddl as trail_ddl
from ledger.errors import ConfigurationError, InvalidInput, LedgerError
from ledger.eventstore import EventStoreApplication, LedgerPostgresFactory
from ledger.keyring import DDL as KEYRING_DDL
from ledger.keyring import KEY_TABLES, Keyring
from ledger.keys import KEY_BYTES, KeyVault, decode_key
from ledger.logging import default_logger
from ledger.projections.sql import TABLES as VIEW_TABLES
from ledger.projections.sql import Dialect
from ledger.projections.views import DDL as VIEWS_DDL
from ledger.projections.views import LedgerViews, PostgresLedgerViews, construct_views
from ledger.stores import Store, parse_store_url, schema_migration

__all__ = ["Parts", "connect", "previous_keys"]

T = TypeVar("T")
log = default_logger()

#: Names this release's tables and indexes: a PostgreSQL schema that records it needs no DDL.
#: (Any change to the DDL, ours or eventsourcing's, changes it.)
SCHEMA_FINGERPRINT = hashlib.sha256(
    "\x1e".join(
        [
            "ledger schema v1",
            f"eventsourcing {importlib.metadata.version('eventsourcing')}",
            *VIEWS_DDL,
            *KEYRING_DDL,
            *trail_ddl(Dialect("sqlite")),
        ]
    ).encode()
).hexdigest()

#: Every table a current PostgreSQL schema holds (checked in the catalogue at open).
SCHEMA_TABLES = (
    "ledger_events",
    "ledger_views_tracking",
    *VIEW_TABLES,
    *KEY_TABLES,
    TRAIL_TABLE,
)

# Several processes creating one fresh SQLite file meet "database is locked" while
# the first of them switches it to WAL; they wait their turn.
_FRESH_STORE_ATTEMPTS = 20
_FRESH_STORE_PAUSE = 0.05


@dataclass(frozen=True)
class Parts:
    store: Store
    events: EventStoreApplication
    views: LedgerViews
    vault: KeyVault
    keyring: Keyring
    #: Audit reads, admin actions and refusals (R21).
    trail: Trail
    #: The key that seals every stored event (R18).
    audit_key: bytes
    #: The same views on a replica, for queries (§12); None: queries read the primary.
    replica: PostgresLedgerViews | None = None

    def close(self) -> None:
        self.events.close()
        if self.replica is not None:
            self.replica.datastore.close()


def previous_keys(value: object) -> list[bytes]:
    """``previous_keys=``: a list (or tuple) of keys, each as `decode_key` reads it."""
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, list | tuple):
        raise ConfigurationError("previous_keys must be a list of keys (32 bytes or base64 text)")
    if len(value) > 100:
        raise ConfigurationError("previous_keys holds more than 100 keys")
    return [decode_key(key, f"previous_keys[{n}]") for n, key in enumerate(value)]


def connect(
    url: object,
    secret_key: object,
    previous: Iterable[bytes] = (),
    audit_key: object = None,
    logger: Any = None,
    origin: str | None = None,
    replica_url: object = None,
) -> Parts:
    """Parse the URL, find the secret key, create missing tables, and check the key.

    Events are sealed with ``audit_key`` when given, else with the store's own audit
    key, which the secret key unlocks and which stays the same when the secret key
    rotates (R14, R18).
    """
    sealing_key = audit_key_from(audit_key)
    store = parse_store_url(url)
    replica_store = None if replica_url is None else parse_replica_url(replica_url, store)
    given = keyfiles.given_key(secret_key)
    if given is None and store.kind == "sqlite":
        # Decided before connecting, which would create the file: a store that exists
        # without its key file is refused, never given a fresh key (R14).
        given = _sqlite_key_file_key(store)
    with schema_migration(store, SCHEMA_FINGERPRINT, SCHEMA_TABLES) as migration:
        # A current schema gets no DDL at all (see `schema_migration`).
        env = {**store.env, "CREATE_TABLE": "n"} if migration.current else store.env
        events = _when_unlocked(store, lambda: EventStoreApplication(env=env))
        try:
            views = _when_unlocked(store, lambda: construct_views(events.factory, store.kind))
            datastore = events.factory.datastore  # type: ignore[attr-defined]
            keyring = Keyring(datastore, _dialect(store), store.postgres_schema)
            trail = Trail(datastore, Dialect(_dialect(store), store.postgres_schema), origin)
            if not migration.current:
                _when_unlocked(store, keyring.create_tables)
                _when_unlocked(store, trail.create_tables)
        except BaseException:
            events.close()
            raise
    try:
        secret = given if given is not None else _local_key(store, events, keyring, logger or log)
        vault = KeyVault.unlock(
            keyring, secret, previous, legacy=lambda: first_legacy_licence(events)
        )
        replica = None if replica_store is None else replica_views(replica_store)
    except BaseException:
        events.close()
        raise
    return Parts(
        store=store,
        events=events,
        views=views,
        vault=vault,
        keyring=keyring,
        trail=trail,
        audit_key=sealing_key or vault.audit_mac_key(),
        replica=replica,
    )


def parse_replica_url(replica_url: object, store: Store) -> Store:
    """``replica_url``: a PostgreSQL URL of the store's replicas, for its queries (§12)."""
    if store.kind != "postgres":
        raise InvalidInput("replica_url", "reads from a replica need a postgresql:// store")
    try:
        replica = parse_store_url(replica_url)
    except InvalidInput as error:
        raise InvalidInput("replica_url", error.problem) from None
    if replica.kind != "postgres":
        raise InvalidInput("replica_url", "must be a postgresql:// URL")
    if replica.postgres_schema != store.postgres_schema:
        raise InvalidInput(
            "replica_url",
            f"names schema {replica.postgres_schema}, the store is schema {store.postgres_schema}",
        )
    return replica


def replica_views(replica: Store) -> PostgresLedgerViews:
    """The views as a replica holds them: read only, no table created (the primary's are)."""
    factory = LedgerPostgresFactory(
        Environment(EventStoreApplication.name, {**replica.env, "CREATE_TABLE": "n"})
    )
    return factory.tracking_recorder(PostgresLedgerViews)


def _dialect(store: Store) -> Literal["sqlite", "postgres"]:
    return "postgres" if store.kind == "postgres" else "sqlite"


def _sqlite_key_file_key(store: Store) -> bytes:
    assert store.key_file is not None
    assert store.sqlite_path is not None
    key = keyfiles.read_key_file(store.key_file)
    if key is not None:
        if not _exists_with_data(store):
            keyfiles.refuse_if_planted(store.key_file, store.description)
        return key
    if _exists_with_data(store):
        raise ConfigurationError(
            f"the store {store.sqlite_path} exists but its key file {store.key_file} is missing:"
            " restore the key file from your backup, or pass secret_key="
        )
    return keyfiles.create_key_file(store.key_file)


def _exists_with_data(store: Store) -> bool:
    assert store.sqlite_path is not None
    try:
        return store.sqlite_path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _local_key(store: Store, events: EventStoreApplication, keyring: Keyring, logger: Any) -> bytes:
    """memory: a fresh key; PostgreSQL: the key file on this host, created for a new store."""
    if store.key_file is None:
        return os.urandom(KEY_BYTES)
    key = keyfiles.read_key_file(store.key_file)
    exists = keyring.recorded_key_id() is not None or bool(events.recorder.max_notification_id())
    if key is not None:
        if not exists:
            keyfiles.refuse_if_planted(store.key_file, store.description)
        return key
    if exists:
        raise ConfigurationError(
            f"the store ({store.description}) exists, but its key file {store.key_file} is"
            f" missing on this host: pass secret_key= or set {keyfiles.SECRET_KEY_ENV}"
        )
    key = keyfiles.create_key_file(store.key_file)
    logs.emit(
        logger,
        "warning",
        "secret_key_from_local_file",
        path=str(store.key_file),
        hint=f"pass secret_key= or set {keyfiles.SECRET_KEY_ENV} so that every host shares one key",
    )
    return key


def first_legacy_licence(events: EventStoreApplication) -> tuple[UUID, str] | None:
    """The first licence of the store, if it was sealed under the store key (before v2).

    Licences sealed under the store key all come before the first one sealed under
    a data key, so the first ``Licence.Issued`` tells whether there are any.
    """
    found = events.recorder.select_notifications(start=None, limit=1, topics=[Licence.Issued.TOPIC])
    if not found:
        return None
    with contextlib.suppress(LedgerError):
        issued = events.mapper.to_domain_event(found[0])
        if isinstance(issued, Licence.Issued) and issued.sealed_under == "store_key":
            return issued.order_id, issued.key_ciphertext
    return None


def _when_unlocked(store: Store, step: Callable[[], T]) -> T:
    if store.kind != "sqlite":
        return step()
    for attempt in range(_FRESH_STORE_ATTEMPTS):
        try:
            return step()
        except (sqlite3.OperationalError, OperationalError) as error:
            if "locked" not in str(error) or attempt == _FRESH_STORE_ATTEMPTS - 1:
                raise
            time.sleep(_FRESH_STORE_PAUSE * (attempt + 1))
    raise AssertionError("unreachable")
