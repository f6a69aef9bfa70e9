"""Several processes on one store: fresh schema creation and catching up views together."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from uuid import UUID

from ledger import Ledger, Money
from tests.support import customer, partner, product

TENANT = UUID("00000000-0000-4000-8000-0000000000aa")
WORKERS = 4
ORDERS_EACH = 5
SECRET = "x" * 43 + "="


def fixed_clock() -> datetime:
    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def buy_orders(url: str) -> int:
    with Ledger.open(url, clock=fixed_clock, secret_key=SECRET) as led:
        led.add_customer(partner(), customer(tenant_id=TENANT))
        for _ in range(ORDERS_EACH):
            led.purchase(partner(), TENANT, product(), 1, Money("10.00", "EUR"))
        return len(led.software(partner(), TENANT))


def test_r13_processes_create_a_fresh_store_and_write_together(durable_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        seen = pool.map(buy_orders, [durable_url] * WORKERS)
    # Each process reads its own writes at least; the last one may see everything.
    assert all(count >= ORDERS_EACH for count in seen)
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET) as led:
        items = led.software(partner(), TENANT)
    assert len(items) == WORKERS * ORDERS_EACH
    assert len({item.order_id for item in items}) == WORKERS * ORDERS_EACH
