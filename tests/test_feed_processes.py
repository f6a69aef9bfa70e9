"""SPEC §9: no gaps and no duplicates in the feed while several processes write.

Three writer processes buy and cancel on one store while this process follows
the feed with its cursor, the way a billing system polls it. Whatever it was
served while they wrote must be exactly the feed read afterwards, in the same
order: an item skipped because a later position was served before an earlier
one had committed would be missing from what the follower collected.
"""

from __future__ import annotations

import multiprocessing
import time
from uuid import UUID

from ledger import Ledger, Money, Role
from tests.support import customer, partner, product

TENANT = UUID("00000000-0000-4000-8000-0000000000fe")
WRITERS = 3
ORDERS_EACH = 25
SECRET = "y" * 43 + "="
BILLING = partner("bill", Role.ACCOUNT_ADMIN)


def write(url: str) -> int:
    agent = partner()
    with Ledger.open(url, secret_key=SECRET) as led:
        for n in range(ORDERS_EACH):
            order_id = led.purchase(agent, TENANT, product(), 1, Money("10.00", "EUR"))
            if n % 5 == 0:
                led.cancel(agent, order_id)
        return ORDERS_EACH


def test_feed_followed_while_processes_write_has_no_gaps_or_duplicates(durable_url: str) -> None:
    with Ledger.open(durable_url, secret_key=SECRET) as led:
        led.add_customer(partner(), customer(tenant_id=TENANT))
    context = multiprocessing.get_context("spawn")
    followed: list[str] = []
    polls_with_items = 0
    with Ledger.open(durable_url, secret_key=SECRET) as reader:
        cursor = None
        with context.Pool(WRITERS) as pool:
            writing = pool.map_async(write, [durable_url] * WRITERS)
            while not writing.ready():
                page = reader.feed(BILLING, after=cursor, limit=7)
                followed += [item.id for item in page.items]
                polls_with_items += bool(page.items)
                cursor = page.next_cursor
                time.sleep(0.005)
            assert writing.get() == [ORDERS_EACH] * WRITERS
        reader.catch_up()
        while page := reader.feed(BILLING, after=cursor, limit=50):
            if not page.items:
                break
            followed += [item.id for item in page.items]
            cursor = page.next_cursor
    with Ledger.open(durable_url, secret_key=SECRET) as led:
        whole = []
        after = None
        while (page := led.feed(BILLING, after=after, limit=1000)).items:
            whole += page.items
            after = page.next_cursor
    # 1 registration + per order a purchase (+ a cancellation, its credit and revocation).
    cancelled = WRITERS * ((ORDERS_EACH + 4) // 5)
    assert len(whole) == 1 + WRITERS * ORDERS_EACH + 3 * cancelled
    assert followed == [item.id for item in whole]
    assert polls_with_items > 1, "the feed was read while the writers wrote"
