"""Licence: the MAK key and download rights that come with an order.

The key is stored only as ciphertext (R14); every successful view, download
and link copy is an event (R4), which is what auditors read (R5).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent, derived_id
from ledger.errors import InvalidInput, KeyRevoked


class LicenceEvent(LedgerEvent, CanMutateAggregate[UUID]):
    user: str


class AccessEvent(LicenceEvent):
    """Base of the audited access events; carries what the activity log shows."""

    order_id: UUID
    partner_id: str
    tenant_id: UUID
    title: str


class Licence(BaseAggregate[UUID]):
    TOPIC = "ledger:Licence"

    # Declared for type checkers only: eventsourcing turns class annotations
    # into __init__ parameters, and the events' apply methods assign these.
    if TYPE_CHECKING:
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        title: str
        key_ciphertext: str
        versions: tuple[str, ...]
        languages: tuple[str, ...]
        bitness: tuple[int, ...]
        revoked_at: datetime | None

    Event = LicenceEvent

    class Issued(LicenceEvent, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Licence.Issued.v1"
        originator_topic: str
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        title: str
        activation: str
        key_ciphertext: str
        versions: tuple[str, ...]
        languages: tuple[str, ...]
        bitness: tuple[int, ...]

        def apply(self, licence: Licence) -> None:
            licence.order_id = self.order_id
            licence.partner_id = self.partner_id
            licence.tenant_id = self.tenant_id
            licence.title = self.title
            licence.key_ciphertext = self.key_ciphertext
            licence.versions = self.versions
            licence.languages = self.languages
            licence.bitness = self.bitness
            licence.revoked_at = None

    class KeyViewed(AccessEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.KeyViewed.v1"

    class Downloaded(AccessEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.Downloaded.v1"
        version: str
        language: str
        bitness: int
        link_expires_at: datetime

    class LinkCopied(AccessEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.LinkCopied.v1"
        version: str
        language: str
        bitness: int
        link_expires_at: datetime

    class KeysRevoked(LicenceEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.KeysRevoked.v1"
        order_id: UUID
        reason: str

        def apply(self, licence: Licence) -> None:
            licence.revoked_at = self.timestamp

    @staticmethod
    def id_for(order_id: UUID) -> UUID:
        return derived_id("licence", str(order_id))

    @classmethod
    def issue(
        cls,
        *,
        order_id: UUID,
        partner_id: str,
        tenant_id: UUID,
        title: str,
        key_ciphertext: str,
        versions: tuple[str, ...],
        languages: tuple[str, ...],
        bitness: tuple[int, ...],
        user: str,
        now: datetime,
    ) -> Licence:
        return cls._create(
            cls.Issued,
            id=cls.id_for(order_id),
            timestamp=now,
            user=user,
            order_id=order_id,
            partner_id=partner_id,
            tenant_id=tenant_id,
            title=title,
            activation="MAK",
            key_ciphertext=key_ciphertext,
            versions=versions,
            languages=languages,
            bitness=bitness,
        )

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def _ensure_not_revoked(self) -> None:
        if self.is_revoked:
            raise KeyRevoked(
                f"the key of order {self.order_id} was revoked {self.revoked_at:%Y-%m-%d %H:%M} UTC"
            )

    def _access_fields(self) -> dict[str, object]:
        return {
            "order_id": self.order_id,
            "partner_id": self.partner_id,
            "tenant_id": self.tenant_id,
            "title": self.title,
        }

    def check_download_option(self, version: str, language: str, bitness: int) -> None:
        if version not in self.versions:
            raise InvalidInput("version", f"{version!r} is not offered for this product")
        if language not in self.languages:
            raise InvalidInput("language", f"{language!r} is not offered for this product")
        if bitness not in self.bitness:
            raise InvalidInput("bitness", f"{bitness!r} is not offered for this product")

    def view_key(self, user: str, now: datetime) -> str:
        """Record the view and hand back the ciphertext for the caller to decrypt."""
        self._ensure_not_revoked()
        self.trigger_event(self.KeyViewed, timestamp=now, user=user, **self._access_fields())
        return self.key_ciphertext

    def record_link(
        self,
        *,
        copied: bool,
        version: str,
        language: str,
        bitness: int,
        expires_at: datetime,
        user: str,
        now: datetime,
    ) -> None:
        self.check_download_option(version, language, bitness)
        self._ensure_not_revoked()
        self.trigger_event(
            self.LinkCopied if copied else self.Downloaded,
            timestamp=now,
            user=user,
            version=version,
            language=language,
            bitness=bitness,
            link_expires_at=expires_at,
            **self._access_fields(),
        )

    def revoke(self, reason: str, user: str, now: datetime) -> None:
        if not self.is_revoked:
            self.trigger_event(
                self.KeysRevoked, timestamp=now, user=user, order_id=self.order_id, reason=reason
            )
