"""Tenant: a customer registered by the partner that owns it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent, derived_id
from ledger.values import Customer


class Tenant(BaseAggregate[UUID]):
    TOPIC = "ledger:Tenant"

    # Declared for type checkers only: eventsourcing turns class annotations
    # into __init__ parameters, and the events' apply methods assign these.
    if TYPE_CHECKING:
        partner_id: str
        customer: Customer

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Added(Event, CanInitAggregate[UUID]):
        TOPIC: ClassVar[str] = "ledger:Tenant.Added.v1"
        originator_topic: str
        partner_id: str
        tenant_id: UUID
        domain: str
        name: str
        market: str

        def apply(self, tenant: Tenant) -> None:
            tenant.partner_id = self.partner_id
            tenant.customer = Customer(
                tenant_id=self.tenant_id, domain=self.domain, name=self.name, market=self.market
            )

    @staticmethod
    def id_for(tenant_id: UUID) -> UUID:
        return derived_id("tenant", str(tenant_id))

    @classmethod
    def add(cls, partner_id: str, customer: Customer, user: str, now: object) -> Tenant:
        return cls._create(
            cls.Added,
            id=cls.id_for(customer.tenant_id),
            timestamp=now,
            user=user,
            partner_id=partner_id,
            tenant_id=customer.tenant_id,
            domain=customer.domain,
            name=customer.name,
            market=customer.market,
        )
