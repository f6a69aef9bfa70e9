"""AuditSeal: the one record that seals a history written before events were sealed (R18).

A store written by the first release holds events without a seal. The first
time a sealing version opens such a store, it records this aggregate's one
event, itself sealed, right after the last unsealed event: it names that
position and the chain hash up to it. From then on an unsealed row is
accepted only at or before ``legacy_through``, and only if the chain over
those rows still ends in ``legacy_chain_head``; a row forged without the key
fails anywhere in the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent, derived_id

__all__ = ["AuditSeal"]


class AuditSeal(BaseAggregate[UUID]):
    TOPIC = "ledger:AuditSeal"
    #: One per store: a second process that tries to seal the same history loses on the version.
    ID: ClassVar[UUID] = derived_id("audit-seal", "v1")

    if TYPE_CHECKING:
        legacy_through: int
        legacy_chain_head: str

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class LegacySealed(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:AuditSeal.LegacySealed.v1"
        originator_topic: str
        legacy_through: int
        legacy_chain_head: str

        def apply(self, seal: AuditSeal) -> None:
            seal.legacy_through = self.legacy_through
            seal.legacy_chain_head = self.legacy_chain_head

    @classmethod
    def seal_legacy(cls, through: int, chain_head: str, now: datetime) -> AuditSeal:
        return cls._create(
            cls.LegacySealed,
            id=cls.ID,
            timestamp=now,
            user="ledger",
            legacy_through=through,
            legacy_chain_head=chain_head,
        )
