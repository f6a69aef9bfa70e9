"""What a deliverer reads from the ledger: the endpoints in force, the signing key of one
it starts serving, the next feed items of each, and how far behind it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.aggregates import Webhook
from ledger.application.webhooks import secret_bytes
from ledger.projections import feed, webhooks
from ledger.values import FeedItem

if TYPE_CHECKING:
    from ledger.application import Ledger

__all__ = ["Endpoint", "Source"]


@dataclass(frozen=True)
class Endpoint:
    id: UUID
    partner_id: str
    url: str
    types: tuple[str, ...] | None


class Source:
    def __init__(self, led: Ledger) -> None:
        self._led = led

    def endpoints(self) -> list[Endpoint]:
        """The endpoints in force, from the views (no secret is opened to list them)."""
        return [
            Endpoint(endpoint.id, partner_id, endpoint.url, endpoint.types)
            for partner_id, endpoint in webhooks.active(self._led._views_ready())
        ]

    def signing_key(self, endpoint: Endpoint) -> bytes | None:
        """The HMAC key of the endpoint's ``whsec_`` secret (kept in memory only, never
        logged); None when it was removed after the views were read."""
        webhook = self._led._uow.get(endpoint.id, Webhook)
        if webhook is None or webhook.removed_at is not None:
            return None
        return secret_bytes(self._led._vault.open(endpoint.id, webhook.secret_ciphertext))

    def next_items(self, endpoint: Endpoint, after: int, limit: int) -> list[FeedItem]:
        query = self._led._views_ready()
        return list(feed.page(query, endpoint.partner_id, after, limit, endpoint.types))

    def pending(self, endpoint: Endpoint, after: int) -> tuple[int, float]:
        """How many items wait for the endpoint, and for how many seconds the oldest has."""
        query = self._led._views_ready()
        count, oldest = feed.waiting(query, endpoint.partner_id, after, endpoint.types)
        if not count or oldest is None:
            return 0, 0.0
        return count, max((datetime.now(UTC) - oldest).total_seconds(), 0.0)
