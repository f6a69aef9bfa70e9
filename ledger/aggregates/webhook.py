"""A webhook endpoint a partner registered (SPEC §9): where its feed items are POSTed.

The signing secret is stored sealed like a licence key (R14): the event holds only
its ciphertext, under a data key of the endpoint's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import WebhookNotFound

__all__ = ["Webhook"]


class Webhook(BaseAggregate[UUID]):
    TOPIC = "ledger:Webhook"

    if TYPE_CHECKING:
        partner_id: str
        url: str
        types: tuple[str, ...] | None
        secret_ciphertext: str
        removed_at: datetime | None

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Added(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Webhook.Added.v1"
        originator_topic: str
        partner_id: str
        url: str
        #: None: every type.
        types: tuple[str, ...] | None
        secret_ciphertext: str

        def apply(self, webhook: Webhook) -> None:
            webhook.partner_id = self.partner_id
            webhook.url = self.url
            webhook.types = self.types
            webhook.secret_ciphertext = self.secret_ciphertext
            webhook.removed_at = None

    class Removed(Event):
        TOPIC: ClassVar[str] = "ledger:Webhook.Removed.v1"
        partner_id: str

        def apply(self, webhook: Webhook) -> None:
            webhook.removed_at = self.timestamp

    @classmethod
    def add(
        cls,
        *,
        endpoint_id: UUID,
        partner_id: str,
        url: str,
        types: tuple[str, ...] | None,
        secret_ciphertext: str,
        user: str,
        now: datetime,
    ) -> Webhook:
        return cls._create(
            cls.Added,
            id=endpoint_id,
            timestamp=now,
            user=user,
            partner_id=partner_id,
            url=url,
            types=types,
            secret_ciphertext=secret_ciphertext,
        )

    def remove(self, user: str, now: datetime) -> None:
        if self.removed_at is not None:
            raise WebhookNotFound(f"webhook endpoint {self.id} was removed at {self.removed_at}")
        self.trigger_event(self.Removed, timestamp=now, user=user, partner_id=self.partner_id)
