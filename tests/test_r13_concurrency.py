"""R13: racing writers on one order never both win, and there is never a second credit."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any
from uuid import UUID

import pytest

from ledger import Actor, Ledger, Role
from ledger.errors import AlreadyCancelled, KeyRevoked
from tests.support import customer, eur, partner, product

ROUNDS = 10
BARRIER_TIMEOUT = 60
FIXED_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MONTH = "2026-11"


def fixed_clock() -> datetime:
    """A module-level clock, so that spawned processes can use it too."""
    return FIXED_NOW


def agent() -> Actor:
    return Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")


def cancel_outcome(led: Ledger, order_id: UUID) -> str:
    try:
        led.cancel(agent(), order_id)
    except AlreadyCancelled:
        return "AlreadyCancelled"
    except Exception as error:  # unexpected: say why, so that a failure names its cause
        cause = f" (from {error.__cause__!r})" if error.__cause__ is not None else ""
        return f"{type(error).__name__}: {error}{cause}"
    return "ok"


def cancel_in_process(
    url: str, order_ids: list[UUID], barrier: ProcessBarrier, results: Any
) -> None:
    """Worker of the multi-process race: open the store, then cancel each order in lockstep."""
    outcomes: list[str] = []
    try:
        with Ledger.open(url, clock=fixed_clock) as led:
            for order_id in order_ids:
                barrier.wait(BARRIER_TIMEOUT)
                outcomes.append(cancel_outcome(led, order_id))
    except Exception as error:
        outcomes.append(f"worker crashed: {type(error).__name__}: {error}")
        barrier.abort()
    results.put(outcomes)


def race(*calls: Callable[[], object]) -> list[Any]:
    """Run the calls in threads that start together; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait(BARRIER_TIMEOUT)
        try:
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return outcomes


def setup_orders(led: Ledger, count: int) -> tuple[UUID, list[UUID]]:
    cust = customer()
    led.add_customer(agent(), cust)
    order_ids = [
        led.purchase(
            agent(),
            tenant_id=cust.tenant_id,
            product=product(),
            quantity=1,
            unit_price=eur("100.00"),
        )
        for _ in range(count)
    ]
    return cust.tenant_id, order_ids


def assert_one_credit_each(led: Ledger, order_ids: list[UUID], month: str) -> None:
    statement = led.monthly_credits(partner(), month)
    per_order = Counter(line.order_id for line in statement.lines)
    for order_id in order_ids:
        assert per_order[order_id] == 1, f"order {order_id} credited {per_order[order_id]} times"
    assert len(statement.lines) == len(order_ids)
    assert statement.totals["EUR"] == eur("100.00") * len(order_ids)


def assert_one_winner(outcomes: list[Any]) -> None:
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1, outcomes
    assert winners[0].credit == eur("100.00")
    assert len(losers) == 1, outcomes
    assert isinstance(losers[0], AlreadyCancelled), repr(losers[0])


# -- threads on one Ledger ---------------------------------------------------------------


def test_r13_two_threads_on_one_ledger_cancel_once(led: Ledger) -> None:
    tenant_id, order_ids = setup_orders(led, ROUNDS)
    month = led.software(partner(), tenant_id)[0].purchased_at.strftime("%Y-%m")
    for order_id in order_ids:
        outcomes = race(
            lambda o=order_id: led.cancel(agent(), o),
            lambda o=order_id: led.cancel(agent(), o),
        )
        assert_one_winner(outcomes)
    assert_one_credit_each(led, order_ids, month)
    items = led.software(partner(), tenant_id)
    assert {item.status for item in items} == {"cancelled"}
    assert all(item.credited == eur("100.00") for item in items)


def test_r13_two_threads_purchasing_with_one_idempotency_key_make_one_order(led: Ledger) -> None:
    cust = customer()
    led.add_customer(agent(), cust)

    def buy(key: str) -> UUID:
        return led.purchase(
            agent(),
            tenant_id=cust.tenant_id,
            product=product(),
            quantity=3,
            unit_price=eur("10.00"),
            idempotency_key=key,
        )

    ids = []
    for round_ in range(ROUNDS):
        key = f"retry-{round_}"
        outcomes = race(lambda k=key: buy(k), lambda k=key: buy(k))
        assert all(isinstance(o, UUID) for o in outcomes), outcomes
        assert outcomes[0] == outcomes[1]
        ids.append(outcomes[0])
    items = led.software(partner(), cust.tenant_id)
    assert sorted(item.order_id for item in items) == sorted(ids)
    assert len(set(ids)) == ROUNDS


# -- two Ledger objects on one store -----------------------------------------------------


def test_r13_two_ledgers_on_one_store_cancel_once(durable_url: str) -> None:
    with (
        Ledger.open(durable_url, clock=fixed_clock) as first,
        Ledger.open(durable_url, clock=fixed_clock) as second,
    ):
        _, order_ids = setup_orders(first, ROUNDS)
        for order_id in order_ids:
            outcomes = race(
                lambda o=order_id: first.cancel(agent(), o),
                lambda o=order_id: second.cancel(agent(), o),
            )
            assert_one_winner(outcomes)
        assert_one_credit_each(first, order_ids, MONTH)
        assert_one_credit_each(second, order_ids, MONTH)


def test_r13_two_ledgers_purchasing_with_one_idempotency_key_make_one_order(
    durable_url: str,
) -> None:
    with (
        Ledger.open(durable_url, clock=fixed_clock) as first,
        Ledger.open(durable_url, clock=fixed_clock) as second,
    ):
        cust = customer()
        first.add_customer(agent(), cust)

        def buy(led: Ledger, key: str) -> UUID:
            return led.purchase(
                agent(),
                tenant_id=cust.tenant_id,
                product=product(),
                quantity=1,
                unit_price=eur("10.00"),
                idempotency_key=key,
            )

        for round_ in range(ROUNDS):
            key = f"retry-{round_}"
            outcomes = race(lambda k=key: buy(first, k), lambda k=key: buy(second, k))
            assert all(isinstance(o, UUID) for o in outcomes), outcomes
            assert outcomes[0] == outcomes[1]
        assert len(first.software(partner(), cust.tenant_id)) == ROUNDS
        assert len(second.software(partner(), cust.tenant_id)) == ROUNDS


# -- two processes on one store ----------------------------------------------------------


def test_r13_two_processes_cancel_once(durable_url: str) -> None:
    with Ledger.open(durable_url, clock=fixed_clock) as led:
        _, order_ids = setup_orders(led, ROUNDS)

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=cancel_in_process, args=(durable_url, order_ids, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=BARRIER_TIMEOUT * 2) for _ in workers]
    for worker in workers:
        worker.join(BARRIER_TIMEOUT)
        assert worker.exitcode == 0

    for report in reports:
        assert len(report) == ROUNDS, report
    for round_, outcomes in enumerate(zip(*reports, strict=True)):
        assert sorted(outcomes) == ["AlreadyCancelled", "ok"], (round_, outcomes)

    with Ledger.open(durable_url, clock=fixed_clock) as led:
        assert_one_credit_each(led, order_ids, MONTH)


# -- access records: concurrent viewers, and revocation winning over them ------------------

VIEWERS = 4
VIEWS_EACH = 15


def _activity(led: Ledger) -> list[Any]:
    reader = Actor(user="gina", roles={Role.GLOBAL_ADMIN}, partner_id="P1")
    return led.activity_log(reader, FIXED_NOW.date(), FIXED_NOW.date())


def test_r4_r13_concurrent_viewers_of_one_key_never_conflict(store_url: str) -> None:
    """Each view is its own access record: none of four viewers makes another retry or fail."""
    with Ledger.open(store_url, clock=fixed_clock) as led:
        _, (order_id,) = setup_orders(led, 1)
        key = led.view_key(agent(), order_id)

        def viewer() -> list[str]:
            return [led.view_key(agent(), order_id) for _ in range(VIEWS_EACH)]

        outcomes = race(*[viewer] * VIEWERS)
        assert all(isinstance(keys, list) for keys in outcomes), outcomes
        assert {k for keys in outcomes for k in keys} == {key}
        assert len(_activity(led)) == 1 + VIEWERS * VIEWS_EACH


def test_r7_r13_revocation_wins_over_views_that_race_a_cancel(store_url: str) -> None:
    """Once cancel has returned, no view succeeds or is recorded; every key handed out before
    (or while) the cancel ran is in the activity log."""
    with Ledger.open(store_url, clock=fixed_clock) as led:
        _, (order_id,) = setup_orders(led, 1)
        cancelled = threading.Event()
        handed_out: Counter[str] = Counter()
        counting = threading.Lock()
        late_successes: list[str] = []

        def count_key() -> None:
            with counting:
                handed_out["keys"] += 1

        def viewer() -> str:
            while True:
                started_after_cancel = cancelled.is_set()
                try:
                    led.view_key(agent(), order_id)
                except KeyRevoked:
                    return "revoked"
                count_key()
                if started_after_cancel:
                    late_successes.append("a view that started after cancel returned succeeded")

        def canceller() -> str:
            for _ in range(5):  # let the viewers get going first
                led.view_key(agent(), order_id)
                count_key()
            led.cancel(agent(), order_id)
            cancelled.set()
            return "cancelled"

        outcomes = race(canceller, *[viewer] * 3)
        assert outcomes == ["cancelled", "revoked", "revoked", "revoked"], outcomes
        assert late_successes == []
        assert len(_activity(led)) == handed_out["keys"]
        with pytest.raises(KeyRevoked):
            led.view_key(agent(), order_id)
        assert len(_activity(led)) == handed_out["keys"]
