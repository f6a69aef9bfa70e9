"""The command-path flow of issue 12 (purchase → view key → cancel) for the ledger and for
bare eventsourcing, shared by B1 (one process, latency) and B5 (writer processes).

Per order the flow is three writes and six events, in every contestant:

* purchase: the order and its licence, one write (ledger: ``Purchased`` + ``Issued``);
* view key: one access record, a stream of its own (ledger: ``KeyViewed``);
* cancel: ``Cancelled`` + ``CreditIssued`` on the order and ``KeysRevoked`` on the licence,
  one write.

The baselines are plain eventsourcing ``Aggregate`` classes on the same persistence module
and settings as the ledger's store: **stateless** reloads every aggregate it needs from the
store for every command (what a stateless service written by hand does); **in-memory**
keeps the aggregates it created and never reads the store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from common import (
    POSTGRES_URL,
    memory_es_env,
    postgres_admin,
    postgres_es_env,
    sqlite_es_env,
)
from datasets import OFFICE
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger import Actor, Customer, Ledger, Money, Role
from ledger.errors import LedgerError

AGENT = Actor(user="ann@fabrikam", roles=frozenset({Role.ADMIN_AGENT}), partner_id="fabrikam")
TENANT = UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e")
PRICE = Money("249.00", "EUR")
#: Fixed, so that every run seals with the same key (the numbers do not depend on it).
SECRET_KEY = bytes(range(32))
_NAMESPACE = UUID("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9")

Flow = Callable[[], object]


# -- bare eventsourcing ----------------------------------------------------------------------


class EsOrder(Aggregate):
    def __init__(
        self,
        partner_id: str,
        tenant_id: str,
        product_id: str,
        title: str,
        quantity: int,
        unit_price: str,
        total: str,
        currency: str,
        user: str,
    ) -> None:
        self.partner_id = partner_id
        self.tenant_id = tenant_id
        self.product_id = product_id
        self.title = title
        self.quantity = quantity
        self.unit_price = unit_price
        self.total = total
        self.currency = currency
        self.cancelled = False
        self.credited = "0"

    @event("Cancelled")
    def cancel(self, user: str) -> None:
        self.cancelled = True

    @event("CreditIssued")
    def issue_credit(self, amount: str, currency: str, user: str) -> None:
        self.credited = amount


class EsLicence(Aggregate):
    def __init__(self, order_id: UUID, key: str, user: str) -> None:
        self.order_id = order_id
        self.key = key
        self.revoked = False

    @staticmethod
    def create_id(order_id: UUID, key: str, user: str) -> UUID:
        return licence_id(order_id)

    @event("KeysRevoked")
    def revoke(self, user: str) -> None:
        self.revoked = True


class EsAccess(Aggregate):
    """One access record: a stream of its own holding one event."""

    def __init__(self, licence_id: UUID, order_id: UUID, user: str, at: str) -> None:
        self.licence_id = licence_id
        self.order_id = order_id
        self.user = user
        self.at = at


def licence_id(order_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, str(order_id))


class EsFlows(Application[UUID]):
    name = "EsFlows"


def _new_order() -> EsOrder:
    return EsOrder(
        "fabrikam",
        str(TENANT),
        OFFICE.product_id,
        OFFICE.title,
        2,
        "249.00",
        "498.00",
        "EUR",
        AGENT.user,
    )


def es_purchase(app: EsFlows, held: dict[UUID, tuple[EsOrder, EsLicence]] | None) -> UUID:
    order = _new_order()
    licence = EsLicence(order.id, os.urandom(15).hex(), AGENT.user)
    app.save(order, licence)
    if held is not None:
        held[order.id] = (order, licence)
    return order.id


def es_view(
    app: EsFlows, order_id: UUID, held: dict[UUID, tuple[EsOrder, EsLicence]] | None
) -> str:
    if held is None:
        licence: Any = app.repository.get(licence_id(order_id))
    else:
        licence = held[order_id][1]
    if licence.revoked:
        raise RuntimeError("revoked")
    app.save(EsAccess(licence.id, order_id, AGENT.user, datetime.now(UTC).isoformat()))
    return str(licence.key)


def es_cancel(
    app: EsFlows, order_id: UUID, held: dict[UUID, tuple[EsOrder, EsLicence]] | None
) -> None:
    if held is None:
        order: Any = app.repository.get(order_id)
        licence: Any = app.repository.get(licence_id(order_id))
    else:
        order, licence = held.pop(order_id)
    if order.cancelled:
        raise RuntimeError("already cancelled")
    order.cancel(AGENT.user)
    order.issue_credit(order.total, order.currency, AGENT.user)
    licence.revoke(AGENT.user)
    app.save(order, licence)


def es_flow(app: EsFlows, *, in_memory: bool) -> Flow:
    held: dict[UUID, tuple[EsOrder, EsLicence]] | None = {} if in_memory else None

    def flow() -> None:
        order_id = es_purchase(app, held)
        es_view(app, order_id, held)
        es_cancel(app, order_id, held)

    return flow


# -- the ledger ------------------------------------------------------------------------------


def ledger_flow(led: Ledger) -> Flow:
    def flow() -> None:
        order_id = led.purchase(AGENT, TENANT, OFFICE, 2, PRICE)
        led.view_key(AGENT, order_id)
        led.cancel(AGENT, order_id)

    return flow


def open_ledger(url: str) -> Ledger:
    led = Ledger.open(url, secret_key=SECRET_KEY)
    with contextlib.suppress(LedgerError):  # B5: another writer process registered it
        led.add_customer(AGENT, Customer(TENANT, "contoso.example", "Contoso", "NL"))
    return led


# -- stores ----------------------------------------------------------------------------------


@dataclass
class Stores:
    """Where each contestant writes: the ledger's URL and an eventsourcing env per baseline."""

    kind: str
    ledger_url: str
    es_env: Callable[[str], dict[str, str]]  # a baseline's name → its own store


@contextmanager
def stores(kind: str) -> Iterator[Stores]:
    tag = uuid.uuid4().hex[:8]
    if kind == "memory":
        yield Stores(kind, "memory://", lambda name: memory_es_env(f"b-{name}-{tag}"))
    elif kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="ledger-b1-"))
        try:
            yield Stores(
                kind,
                f"sqlite:///{directory / 'ledger.db'}",
                lambda name: sqlite_es_env(directory / f"{name}.db"),
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    else:
        schemas: list[str] = []

        def es_env(name: str) -> dict[str, str]:
            schema = f"b_{name}_{tag}".lower()
            postgres_admin(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            schemas.append(schema)
            return postgres_es_env(schema)

        ledger_schema = f"b_ledger_{tag}"
        schemas.append(ledger_schema)
        try:
            yield Stores(kind, f"{POSTGRES_URL}?schema={ledger_schema}", es_env)
        finally:
            for schema in schemas:
                postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
