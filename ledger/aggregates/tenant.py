"""Tenant: a customer tenant and each partner's registration of it (R11).

A tenant may work with several partners, so each partner registers it for
itself: two partners may register the same tenant id, each with its own
domain, name and market, and neither learns of the other. The stream is one
per tenant id (the first registration creates it, later ones by other
partners are `Registered` events), so that a customer user of the tenant
finds every partner's orders, and so that stores written before
registrations were per partner (one ``Added`` event) read on unchanged.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar, NamedTuple
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from ledger.aggregates.base import LedgerEvent, derived_id
from ledger.errors import CustomerConflict
from ledger.values import Customer

__all__ = ["Registration", "Tenant"]


class Registration(NamedTuple):
    """One partner's details of the tenant. Plain fields: replaying them never validates."""

    domain: str
    name: str
    market: str


class Tenant(BaseAggregate[UUID]):
    TOPIC = "ledger:Tenant"

    # Declared for type checkers only: the events' apply methods assign these.
    if TYPE_CHECKING:
        tenant_id: UUID
        registrations: dict[str, Registration]

    class Event(LedgerEvent, CanMutateAggregate[UUID]):
        user: str

    class Added(Event, CanInitAggregate[UUID]):
        """The first partner's registration."""

        TOPIC: ClassVar[str] = "ledger:Tenant.Added.v1"
        originator_topic: str
        partner_id: str
        tenant_id: UUID
        domain: str
        name: str
        market: str

        def apply(self, tenant: Tenant) -> None:
            tenant.tenant_id = self.tenant_id
            tenant.registrations = {
                self.partner_id: Registration(self.domain, self.name, self.market)
            }

    class Registered(Event):
        """Another partner's registration of the same tenant."""

        TOPIC: ClassVar[str] = "ledger:Tenant.Registered.v1"
        partner_id: str
        domain: str
        name: str
        market: str

        def apply(self, tenant: Tenant) -> None:
            # A new dict: the repository may hand out copies of a cached aggregate.
            tenant.registrations = {
                **tenant.registrations,
                self.partner_id: Registration(self.domain, self.name, self.market),
            }

    @staticmethod
    @lru_cache(maxsize=8192)  # asked on every command; str() of a UUID is not free
    def id_for(tenant_id: UUID) -> UUID:
        return derived_id("tenant", str(tenant_id))

    @classmethod
    def add(cls, partner_id: str, customer: Customer, user: str, now: datetime) -> Tenant:
        """The tenant's first registration, by ``partner_id``."""
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

    def register(self, partner_id: str, customer: Customer, user: str, now: datetime) -> bool:
        """R11: ``partner_id``'s registration; False when it had the same details already.

        Only the partner's own registration is compared, so the outcome never
        depends on whether another partner registered the tenant.
        """
        known = self.registrations.get(partner_id)
        if known is not None:
            if known != Registration(customer.domain, customer.name, customer.market):
                raise CustomerConflict(
                    f"tenant {customer.tenant_id} is already registered with other details"
                )
            return False
        self.trigger_event(
            self.Registered,
            timestamp=now,
            user=user,
            partner_id=partner_id,
            domain=customer.domain,
            name=customer.name,
            market=customer.market,
        )
        return True

    def is_registered_by(self, partner_id: str) -> bool:
        return partner_id in self.registrations

    def customer_for(self, partner_id: str) -> Customer:
        """``partner_id``'s view of the tenant (it must have registered it)."""
        known = self.registrations[partner_id]
        return Customer(
            tenant_id=self.tenant_id, domain=known.domain, name=known.name, market=known.market
        )
