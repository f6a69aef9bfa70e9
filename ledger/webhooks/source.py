"""What a deliverer reads from the ledger: the endpoints in force (with their secrets),
the next feed item of each, and how far behind it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.aggregates import Webhook
from ledger.application.webhooks import secret_bytes
from ledger.projections import feed, webhooks
from ledger.projections.sql import parse_timestamp
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
    #: The HMAC key of its ``whsec_`` secret: kept in memory only, never logged.
    key: bytes = field(repr=False)


class Source:
    def __init__(self, led: Ledger) -> None:
        self._led = led

    def endpoints(self) -> list[Endpoint]:
        found = []
        for partner_id, endpoint in webhooks.active(self._led._views_ready()):
            webhook = self._led._uow.get(endpoint.id, Webhook)
            if webhook is None or webhook.removed_at is not None:
                continue  # removed after the view was read
            secret = self._led._vault.open(endpoint.id, webhook.secret_ciphertext)
            found.append(
                Endpoint(
                    endpoint.id, partner_id, endpoint.url, endpoint.types, secret_bytes(secret)
                )
            )
        return found

    def next_items(self, endpoint: Endpoint, after: int, limit: int) -> list[FeedItem]:
        query = self._led._views_ready()
        return list(feed.page(query, endpoint.partner_id, after, limit, endpoint.types))

    def pending(self, endpoint: Endpoint, after: int) -> tuple[int, float]:
        """How many items wait for the endpoint, and for how many seconds the oldest has."""
        clause, params = "", [endpoint.partner_id, after]
        if endpoint.types is not None:
            clause = f" AND type IN ({', '.join('?' * len(endpoint.types))})"
            params += list(endpoint.types)
        rows = self._led._views_ready()(
            "SELECT COUNT(*) AS waiting, MIN(occurred_at) AS oldest FROM {ledger_feed}"
            " WHERE partner_id = ? AND position > ?" + clause,
            params,
        )
        waiting, oldest = int(rows[0]["waiting"]), rows[0]["oldest"]
        if not waiting or oldest is None:
            return 0, 0.0
        age = (datetime.now(UTC) - parse_timestamp(oldest)).total_seconds()
        return waiting, max(age, 0.0)
