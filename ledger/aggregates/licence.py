"""Licence: the MAK key and download rights that come with an order.

The key is stored only as ciphertext (R14). Every successful view,
download and link copy is one of the licence's events (R4), which is what
auditors read (R5); each is saved as an *access record*: a stream of its
own holding that one event. The licence's own stream therefore holds only
what decides a command (issued, revoked), so deciding costs the same after
ten thousand views as after none, and two people viewing one key at once
never conflict. See docs/decisions.md, "Access records".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent, derived_id
from ledger.errors import InvalidInput, KeyRevoked
from ledger.values import AccessAction, Product

__all__ = ["LINK_LIFETIME", "AccessEvent", "Licence", "LinkEvent"]

Access = TypeVar("Access", bound="AccessEvent")

#: How ``key_ciphertext`` is sealed: under the order's data key, or (v1) the store's key.
SealedUnder = Literal["data_key", "store_key"]

#: R4: a download link expires 14 days after it is made.
LINK_LIFETIME = timedelta(days=14)


class LicenceEvent(LedgerEvent, CanMutateAggregate[UUID]):
    user: str


class AccessEvent(LicenceEvent):
    """An access record: carries what the activity log shows; changes no licence state."""

    ACTION: ClassVar[AccessAction]

    order_id: UUID
    partner_id: str
    tenant_id: UUID
    title: str


class LinkEvent(AccessEvent):
    """A download or a copied link: which build, and when the link expires."""

    version: str
    language: str
    bitness: int
    link_expires_at: datetime


class Licence(BaseAggregate[UUID]):
    TOPIC = "ledger:Licence"

    # Declared for type checkers only: the events' apply methods assign these.
    if TYPE_CHECKING:
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        title: str
        key_ciphertext: str
        sealed_under: SealedUnder
        versions: tuple[str, ...]
        languages: tuple[str, ...]
        bitness: tuple[int, ...]
        revoked_at: datetime | None

    Event = LicenceEvent

    class Issued(LicenceEvent, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Licence.Issued.v1"
        #: v2 says how ``key_ciphertext`` is sealed (R14: envelope encryption).
        class_version: ClassVar[int] = 2
        originator_topic: str
        order_id: UUID
        partner_id: str
        tenant_id: UUID
        title: str
        activation: str
        key_ciphertext: str
        sealed_under: SealedUnder
        versions: tuple[str, ...]
        languages: tuple[str, ...]
        bitness: tuple[int, ...]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 sealed the key directly under the store's secret key."""
            state["sealed_under"] = "store_key"

        def apply(self, licence: Licence) -> None:
            licence.order_id = self.order_id
            licence.partner_id = self.partner_id
            licence.tenant_id = self.tenant_id
            licence.title = self.title
            licence.key_ciphertext = self.key_ciphertext
            licence.sealed_under = self.sealed_under
            licence.versions = self.versions
            licence.languages = self.languages
            licence.bitness = self.bitness
            licence.revoked_at = None

    class KeyViewed(AccessEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.KeyViewed.v1"
        ACTION: ClassVar[AccessAction] = "key_viewed"

    class Downloaded(LinkEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.Downloaded.v1"
        ACTION: ClassVar[AccessAction] = "downloaded"

    class LinkCopied(LinkEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.LinkCopied.v1"
        ACTION: ClassVar[AccessAction] = "link_copied"

    class KeysRevoked(LicenceEvent):
        TOPIC: ClassVar[str] = "ledger:Licence.KeysRevoked.v1"
        order_id: UUID
        reason: str

        def apply(self, licence: Licence) -> None:
            licence.revoked_at = self.timestamp

    @staticmethod
    @lru_cache(maxsize=8192)  # asked on every command; str() of a UUID is not free
    def id_for(order_id: UUID) -> UUID:
        return derived_id("licence", str(order_id))

    @classmethod
    def issue(
        cls,
        *,
        order_id: UUID,
        partner_id: str,
        tenant_id: UUID,
        product: Product,
        activation: str,
        key_ciphertext: str,
        user: str,
        now: datetime,
        sealed_under: SealedUnder = "data_key",
    ) -> Licence:
        """R3: the licence and download rights that come with an order.

        ``key_ciphertext`` is the key sealed under the order's data key (R14).
        """
        return cls._create(
            cls.Issued,
            id=cls.id_for(order_id),
            timestamp=now,
            user=user,
            order_id=order_id,
            partner_id=partner_id,
            tenant_id=tenant_id,
            title=product.title,
            activation=activation,
            key_ciphertext=key_ciphertext,
            sealed_under=sealed_under,
            versions=product.versions,
            languages=product.languages,
            bitness=product.bitness,
        )

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def _ensure_not_revoked(self) -> None:
        if self.is_revoked:
            raise KeyRevoked(
                f"the key of order {self.order_id} was revoked {self.revoked_at:%Y-%m-%d %H:%M} UTC"
            )

    def check_download_option(self, version: str, language: str, bitness: int) -> None:
        if version not in self.versions:
            raise InvalidInput("version", f"{version!r} is not offered for this product")
        if language not in self.languages:
            raise InvalidInput("language", f"{language!r} is not offered for this product")
        if bitness not in self.bitness:
            raise InvalidInput("bitness", f"{bitness!r} is not offered for this product")

    def view_key(self, user: str, now: datetime) -> KeyViewed:
        """R4: the access record of a key view; refused once the key is revoked.

        The caller opens ``key_ciphertext`` (so a key that cannot be opened records
        nothing), saves the record, and only then hands the key out.
        """
        self._ensure_not_revoked()
        return self._access_record(self.KeyViewed, user, now)

    def hand_out_link(
        self,
        *,
        copied: bool,
        version: str,
        language: str,
        bitness: int,
        user: str,
        now: datetime,
    ) -> LinkEvent:
        """R4: the access record of a download (or a copied link) of an offered build;
        the link it records expires `LINK_LIFETIME` after ``now``."""
        self.check_download_option(version, language, bitness)
        self._ensure_not_revoked()
        return self._access_record(
            self.LinkCopied if copied else self.Downloaded,
            user,
            now,
            version=version,
            language=language,
            bitness=bitness,
            link_expires_at=now + LINK_LIFETIME,
        )

    def _access_record(
        self, record: type[Access], user: str, now: datetime, **details: object
    ) -> Access:
        """A new access record: a stream of its own (fresh id, version 1), never the licence's."""
        return record(
            originator_id=uuid4(),
            originator_version=1,
            timestamp=now,
            user=user,
            order_id=self.order_id,
            partner_id=self.partner_id,
            tenant_id=self.tenant_id,
            title=self.title,
            **details,
        )

    def revoke(self, reason: str, user: str, now: datetime) -> None:
        if not self.is_revoked:
            self.trigger_event(
                self.KeysRevoked, timestamp=now, user=user, order_id=self.order_id, reason=reason
            )
