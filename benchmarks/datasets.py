"""The suite's data sets: a bulk loader that writes a large, realistic history the way the
API writes it, the stores it goes into, and bare eventsourcing on the same log.

The loader is deterministic: the same ``events`` gives the same tenants, orders, partners,
timestamps and mix of events, with ids drawn from ``random.Random(SEED)``. Only what the
ledger draws from ``secrets`` differs between runs: the licence keys and the nonces that
seal them (so the bytes of those fields, not their size).

Every store here is opened with `SECRET` (32 bytes of ``b``), not a key file. To open one
with the ``ledger`` command, give it the same key::

    LEDGER_SECRET_KEY=YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI= \
        ledger --url sqlite:///path/to/ledger.db views status

(`SECRET_TEXT` is that base64 text; ``tests/test_bench_dataset.py`` checks both.)
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from common import POSTGRES_URL, postgres_admin, postgres_es_env, sqlite_es_env
from eventsourcing.application import Application

from ledger import Customer, Ledger, Money, Product, ProductKind
from ledger.aggregates import Tenant
from ledger.aggregates.decisions import cancel_order, place_order
from ledger.aggregates.order import OrderRequest
from ledger.keys import generate_mak
from ledger.mapper import CompactJSONTranscoder, PydanticMapper

SECRET = b"b" * 32
#: `SECRET` as ``$LEDGER_SECRET_KEY`` takes it (base64).
SECRET_TEXT = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="
SEED = 20261201
PARTNERS = tuple(f"P{n}" for n in range(10))
START = datetime(2026, 10, 1, tzinfo=UTC)
OFFICE = Product(
    product_id="DG7GMGF0D7FV",
    sku_id="0002",
    title="Office LTSC Professional Plus 2024",
    kind=ProductKind.PERPETUAL,
    versions=("2024",),
    languages=("en-US", "nl-NL"),
    bitness=(32, 64),
)
#: Events per order on average: 2 (purchase) + 12 access records + 0.3 (every 10th cancelled)
#: + 0.2 (a customer per 5 orders).
EVENTS_PER_ORDER = 14.5


def bulk_load(url: str, events: int, seed: int = SEED) -> int:
    """Write about ``events`` events the way the API writes them; returns how many.

    It calls the domain functions the facade calls (``Tenant.add``, ``place_order`` with a
    key sealed by the ledger's vault, ``Licence.view_key`` / ``hand_out_link``,
    ``cancel_order``) and saves them through the ledger's own event store, so every row goes
    through the ledger's mapper and is sealed; it only skips the per-command checks and saves
    ~600 aggregates per transaction. Mix per order: a purchase (2 events), 12 access records,
    every 10th order cancelled (3 events); a customer per 5 orders, over 10 partners and 60
    days.
    """
    rng = random.Random(seed)

    def next_id() -> UUID:
        return UUID(int=rng.getrandbits(128), version=4)

    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        store = led._uow.events
        vault = led._vault
        policies = led._policies
        written = 0
        order_no = 0
        pending: list[Any] = []
        customer: Customer | None = None
        customer_partner = ""
        while written < events:
            partner_id = PARTNERS[order_no % len(PARTNERS)]
            now = START + timedelta(seconds=order_no * 37 % (60 * 86400))
            if order_no % 5 == 0 or customer is None or customer_partner != partner_id:
                customer = Customer(
                    tenant_id=next_id(), domain=f"c{order_no}.example", name="Contoso", market="NL"
                )
                customer_partner = partner_id
                pending.append(Tenant.add(partner_id, customer, "ann", now))
                written += 1
            order_id = next_id()
            order, licence = place_order(
                order_id=order_id,
                request=OrderRequest(
                    tenant_id=customer.tenant_id,
                    product=OFFICE,
                    quantity=2,
                    unit_price=Money("249.00", "EUR"),
                ),
                partner_id=partner_id,
                customer=customer,
                policy=policies.current,
                key_ciphertext=vault.seal(order_id, generate_mak()),
                user="ann",
                now=now,
            )
            pending += [order, licence]
            written += 2
            for n in range(12):
                at = now + timedelta(minutes=n + 1)
                if n % 3 == 0:
                    pending.append(licence.view_key(f"user{n % 4}", at))
                else:
                    pending.append(
                        licence.hand_out_link(
                            copied=n % 3 == 2,
                            version="2024",
                            language="en-US",
                            bitness=64,
                            user=f"user{n % 4}",
                            now=at,
                        )
                    )
                written += 1
            if order_no % 10 == 9:
                cancel_order(order, licence, policies, "ann", now + timedelta(days=1))
                written += 3
            order_no += 1
            if len(pending) >= 600:
                store.save(*pending)
                pending = []
        if pending:
            store.save(*pending)
        return int(store.recorder.max_notification_id() or 0)


@contextmanager
def store(kind: str) -> Iterator[str]:
    """A fresh, empty store: a SQLite file in a temporary directory or a PostgreSQL schema;
    removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-history-") as directory:
            yield f"sqlite:///{Path(directory) / 'history.db'}"
        return
    if kind != "postgres":
        raise ValueError(f"no data-set store for {kind!r}: sqlite or postgres")
    schema = f"bench_history_{uuid4().hex[:8]}"
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Baseline(Application[Any]):
    """Bare eventsourcing on the ledger's own log (its PostgreSQL table is ledger_events).

    The one thing it borrows is the ledger's event classes' decoding (without any seal
    check), because eventsourcing's default mapper cannot build pydantic events.
    """

    name = "Ledger"

    def construct_mapper(self) -> Any:
        return PydanticMapper(transcoder=CompactJSONTranscoder())


def es_env(url: str) -> dict[str, str]:
    """Bare eventsourcing settings for the ledger's own event table."""
    if url.startswith("sqlite:///"):
        return sqlite_es_env(Path(url[len("sqlite:///") :]))
    return postgres_es_env(url.split("schema=")[1])


def es_read_log(url: str) -> int:
    """Bare eventsourcing reading the whole notification log, 500 at a time, decoding
    nothing: the floor for anything that reads the whole history. Returns how many."""
    app = Baseline(env=es_env(url))
    count, position = 0, 0
    while True:
        batch = app.recorder.select_notifications(
            start=position, limit=500, inclusive_of_start=False
        )
        if not batch:
            break
        count += len(batch)
        position = batch[-1].id
    app.close()
    return count


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
