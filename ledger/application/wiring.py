"""From a store URL to the parts of a working ledger: event store, views and key vault."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.audit.export import audit_key_from
from ledger.eventstore import EventStore
from ledger.keys import KeyVault
from ledger.projections.views import LedgerViews, construct_views
from ledger.stores import Store, parse_store_url, resolve_secret_key, schema_migration

__all__ = ["Parts", "connect"]


@dataclass(frozen=True)
class Parts:
    store: Store
    events: EventStore
    views: LedgerViews
    vault: KeyVault
    #: The key that seals every stored event (R18).
    audit_key: bytes


def connect(
    url: str | None, secret_key: str | bytes | None, audit_key: str | bytes | None = None
) -> Parts:
    """Parse the URL, find the keys, and create the tables if they are missing.

    The audit key is ``audit_key=`` when given, else derived from the secret key.
    """
    store = parse_store_url(url)
    vault = KeyVault(resolve_secret_key(store, secret_key))
    sealing_key = audit_key_from(audit_key) or vault.audit_mac_key()
    with schema_migration(store):
        events = EventStore(env=store.env)
        views = construct_views(events.factory, store.kind)
    return Parts(store=store, events=events, views=views, vault=vault, audit_key=sealing_key)
