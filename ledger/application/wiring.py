"""From a store URL to the parts of a working ledger: event store, views and key vault."""

from __future__ import annotations

from dataclasses import dataclass

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


def connect(url: str | None, secret_key: str | bytes | None) -> Parts:
    """Parse the URL, find the secret key, and create the tables if they are missing."""
    store = parse_store_url(url)
    vault = KeyVault(resolve_secret_key(store, secret_key))
    with schema_migration(store):
        events = EventStore(env=store.env)
        views = construct_views(events.factory, store.kind)
    return Parts(store=store, events=events, views=views, vault=vault)
