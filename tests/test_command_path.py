"""The command path of issue 12: aggregates kept between commands stay correct.

The ledger keeps aggregates in memory between commands and reads only the events
stored after them (docs/decisions.md, "Performance: the command path"). These
tests check, through the public API on every store, that what another writer
stored is always seen, that a command that loses a race decides again on the
winner's state, and that a failed attempt leaves nothing behind.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import threading
from datetime import datetime
from typing import Any

import pytest

from ledger import Ledger, Money, ProductKind
from ledger.application.wiring import SCHEMA_FINGERPRINT, SCHEMA_TABLES
from ledger.errors import AlreadyCancelled, ConfigurationError, CustomerNotFound, KeyRevoked
from ledger.keys import MAK_ALPHABET, generate_mak
from ledger.policies.cancellation import CancellationPolicy
from ledger.stores import parse_store_url, schema_migration
from tests.support import (
    AGENT,
    ManualClock,
    customer,
    customer_admin,
    eur,
    partner,
    product,
    tenant_with_order,
)

KEY = os.urandom(32)


def second_ledger(led_url: str, clock: ManualClock) -> Ledger:
    return Ledger.open(led_url, clock=clock, secret_key=KEY)


def test_cache_sees_what_another_ledger_wrote(durable_url: str, clock: ManualClock) -> None:
    # Both objects have loaded the order and its licence (so both keep them in memory);
    # the second cancels, and the first must see it at once, not its own stale copy.
    with (
        Ledger.open(durable_url, clock=clock, secret_key=KEY) as first,
        second_ledger(durable_url, clock) as second,
    ):
        tenant_id, order_id = tenant_with_order(first)
        key = first.view_key(AGENT, order_id)
        assert second.view_key(AGENT, order_id) == key
        assert first.cancellation_status(AGENT, order_id).cancellable
        second.cancel(AGENT, order_id)
        assert first.cancellation_status(AGENT, order_id).reason == "cancelled"
        with pytest.raises(KeyRevoked):
            first.view_key(customer_admin(tenant_id), order_id)
        with pytest.raises(AlreadyCancelled):
            first.cancel(AGENT, order_id)
        credits = first.monthly_credits(AGENT, clock().strftime("%Y-%m"))
        assert [line.order_id for line in credits.lines] == [order_id]


def test_cache_a_customer_registered_elsewhere_is_seen(
    durable_url: str, clock: ManualClock
) -> None:
    with (
        Ledger.open(durable_url, clock=clock, secret_key=KEY) as first,
        second_ledger(durable_url, clock) as second,
    ):
        tenant_id, _ = tenant_with_order(first)
        other = partner("pat", partner_id="P2")
        with pytest.raises(CustomerNotFound):
            first.purchase(other, tenant_id, product(), 1, eur("10.00"))
        second.add_customer(other, customer(tenant_id=tenant_id))
        # The first object kept the tenant with one registration; it must read the second.
        order_id = first.purchase(other, tenant_id, product(), 1, eur("10.00"))
        assert first.cancellation_status(other, order_id).cancellable


class RacingPolicy(CancellationPolicy):
    """Lets another cancel of the same order win while this one is deciding (once)."""

    racer: threading.Thread | None = None

    def credit(
        self,
        kind: ProductKind,
        total: Money,
        term_days: int | None,
        purchased_at: datetime,
        now: datetime,
    ) -> Money:
        racer = type(self).racer
        if racer is not None:
            type(self).racer = None
            racer.start()
            racer.join(timeout=60)
        return super().credit(kind, total, term_days, purchased_at, now)


def test_cache_a_lost_race_decides_again_on_the_winners_state(
    store_url: str, clock: ManualClock
) -> None:
    # The cancel that loses (IntegrityError on its save) must not keep its own changed
    # copies: its retry reads the winner's events and meets AlreadyCancelled (R13),
    # and afterwards the order shows one cancellation and one credit.
    policy = RacingPolicy.default()
    with Ledger.open(store_url, clock=clock, cancellation_policy=policy) as led:
        tenant_id, order_id = tenant_with_order(led)
        led.view_key(AGENT, order_id)
        outcomes: list[str] = []

        def winner() -> None:
            led.cancel(AGENT, order_id)
            outcomes.append("winner ok")

        RacingPolicy.racer = threading.Thread(target=winner)
        with pytest.raises(AlreadyCancelled):
            led.cancel(AGENT, order_id)
        assert outcomes == ["winner ok"]
        assert led.cancellation_status(AGENT, order_id).reason == "cancelled"
        with pytest.raises(AlreadyCancelled):
            led.cancel(AGENT, order_id)
        with pytest.raises(KeyRevoked):
            led.view_key(customer_admin(tenant_id), order_id)
        credits = led.monthly_credits(AGENT, clock().strftime("%Y-%m"))
        assert [line.order_id for line in credits.lines] == [order_id]
        (item,) = led.software(AGENT, tenant_id)
        assert (item.status, item.key_available) == ("cancelled", False)


def test_cache_a_refused_command_leaves_the_aggregates_as_stored(
    store_url: str, clock: ManualClock
) -> None:
    # A policy that fails after the order was loaded and checked: nothing is written and
    # the next cancel (with a sane policy) decides on the stored, untouched order.
    class Broken(CancellationPolicy):
        """Overpays until it is mended (the same policy id, so the same orders)."""

        mended = False

        def credit(self, *args: object, **kwargs: object) -> Money:
            if type(self).mended:
                return super().credit(*args)  # type: ignore[call-overload]
            return eur("1000000.00")

    with Ledger.open(store_url, clock=clock, cancellation_policy=Broken.default()) as broken:
        _, order_id = tenant_with_order(broken)
        with pytest.raises(ConfigurationError, match="credited"):
            broken.cancel(AGENT, order_id)
        assert broken.cancellation_status(AGENT, order_id).cancellable
        Broken.mended = True  # the same Ledger object, a sane policy now
        assert broken.cancel(AGENT, order_id).credit == eur("100.00")


def test_purchase_stores_the_data_key_with_the_events(durable_url: str, clock: ManualClock) -> None:
    # One write per purchase: the wrapped data key and the events commit together, so
    # a fresh Ledger (nothing in memory) opens every key.
    with Ledger.open(durable_url, clock=clock, secret_key=KEY) as led:
        _, first = tenant_with_order(led)
        _, second = tenant_with_order(led)
        keys = {order: led.view_key(AGENT, order) for order in (first, second)}
    with second_ledger(durable_url, clock) as fresh:
        assert {order: fresh.view_key(AGENT, order) for order in (first, second)} == keys


def test_generate_mak_reads_the_random_source_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        reads.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    key = generate_mak()
    assert len(reads) == 1
    assert re.fullmatch(rf"([{MAK_ALPHABET}]{{5}}-){{4}}[{MAK_ALPHABET}]{{5}}", key)


def test_generate_mak_skips_the_bytes_above_the_last_whole_alphabet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 240 = 10 × 24: bytes 240–255 would favour the first 16 characters; they are skipped.
    monkeypatch.setattr(os, "urandom", lambda n: bytes([255, 0, 240, 23, 24, 239]) * n)
    expected = MAK_ALPHABET[0] + MAK_ALPHABET[23] + MAK_ALPHABET[0] + MAK_ALPHABET[239 % 24]
    assert generate_mak(1, 4) == expected
    assert generate_mak(2, 2) == expected[:2] + "-" + expected[2:]


def test_generate_mak_uses_every_character_about_equally() -> None:
    counts = dict.fromkeys(MAK_ALPHABET, 0)
    for _ in range(2000):
        for character in generate_mak().replace("-", ""):
            counts[character] += 1
    expected = 2000 * 25 / len(MAK_ALPHABET)
    assert all(0.85 * expected < n < 1.15 * expected for n in counts.values()), counts


# -- PostgreSQL: opening beside a catch-up takes no table locks ----------------------------


def _open_repeatedly(url: str, rounds: int, results: Any) -> None:
    try:
        for _ in range(rounds):
            with Ledger.open(url) as led:
                led.views_status()
        results.put("ok")
    except Exception as error:
        results.put(f"{type(error).__name__}: {error}")


def _write_and_catch_up(url: str, rounds: int, results: Any) -> None:
    try:
        with Ledger.open(url, views="follower") as led:
            tenant = customer()
            led.add_customer(AGENT, tenant)
            for _ in range(rounds):
                for _ in range(3):
                    led.purchase(AGENT, tenant.tenant_id, product(), 1, eur("10.00"))
                led.catch_up()
        results.put("ok")
    except Exception as error:
        results.put(f"{type(error).__name__}: {error}")


def test_postgres_open_beside_a_catch_up_never_deadlocks(postgres_url: str) -> None:
    # Ledger.open used to run CREATE INDEX IF NOT EXISTS on the views at every open: a
    # SHARE lock per table, held while waiting for the next table, which another
    # process's catch-up was writing. Now a schema at this release's version gets no DDL.
    with Ledger.open(postgres_url) as led:
        tenant_with_order(led)
    with schema_migration(parse_store_url(postgres_url), SCHEMA_FINGERPRINT, SCHEMA_TABLES) as m:
        assert m.current, "a schema at this release's version is opened without DDL"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_write_and_catch_up, args=(postgres_url, 25, results))]
    workers += [
        context.Process(target=_open_repeatedly, args=(postgres_url, 6, results)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(60)
    assert outcomes == ["ok"] * len(workers)
    with Ledger.open(postgres_url) as led:
        status = led.views_status()
        assert status.lag_events == 0
