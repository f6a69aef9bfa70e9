"""Races and crashes (R12, R13, R14): several processes on one store, and kill -9.

* four processes open a fresh store at the same moment, round after round:
  every one succeeds, and all end up with the one key;
* four processes cancel the same orders: one cancellation and one credit
  per order;
* four processes buy with one idempotency key: one order, one data key;
* a writer is killed (SIGKILL) in the middle of its commands, again and
  again: what it reported done is there, nothing is there twice, every
  order has its licence and its data key, views equal a rebuild;
* a process is killed while it catches up a backlog of views: the next
  one finishes the job, no event is applied twice.

The figures (rounds, processes, kills) are printed in the pytest summary.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from ledger import Ledger, Money, Role
from ledger.errors import AlreadyCancelled, KeyRevoked
from ledger.projections import updater
from ledger.projections.views import LedgerViews
from ledger.stores import parse_store_url
from tests.support import QUIET, customer, partner, product

SPAWN = multiprocessing.get_context("spawn")
WORKERS = 4
TENANT = UUID("00000000-0000-4000-8000-0000000000c1")
SECRET = b"r" * 32
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def fixed_clock() -> datetime:
    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _figure(request: pytest.FixtureRequest, text: str) -> None:
    request.node.user_properties.append(("races", text))


def _kind(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


# -- four processes open a fresh store ---------------------------------------------------------


def open_at(url: str, start: float) -> str:
    """Wait for the common start, open the store, report the key it got."""
    time.sleep(max(0.0, start - time.time()))
    try:
        with Ledger.open(url, clock=fixed_clock, logger=QUIET) as led:
            return f"{led._vault.key_id}:{led._vault.audit_mac_key().hex()}"
    except Exception as error:  # reported to the parent, which fails the test
        return f"error {type(error).__name__}: {error}"


def test_r14_four_processes_opening_a_fresh_store_all_succeed_with_one_key(
    durable_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.delenv("LEDGER_SECRET_KEY", raising=False)  # the key file is what races
    sqlite = durable_url.startswith("sqlite")
    rounds = (12 if IN_CI else 4) if sqlite else (4 if IN_CI else 2)
    urls = [_fresh(durable_url, tmp_path, n) for n in range(rounds)]
    opened = 0
    try:
        with SPAWN.Pool(WORKERS) as pool:
            pool.map(int, range(WORKERS))  # the workers are up before the first round
            for n, url in enumerate(urls):
                start = time.time() + 0.3
                results = pool.starmap(open_at, [(url, start)] * WORKERS)
                assert not [r for r in results if r.startswith("error")], results
                assert len(set(results)) == 1, f"round {n}: {results}"
                opened += len(results)
    finally:
        if not sqlite:
            _drop_schemas(urls)
    _figure(
        request,
        f"{_kind(durable_url)}: {rounds} fresh stores opened by {WORKERS} processes at once,"
        f" {opened} opens, 0 failures, one key each",
    )


def _fresh(base: str, tmp_path: Path, n: int) -> str:
    if base.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'fresh-{n}.db'}"
    schema = base.rsplit("schema=", 1)[1]
    return base.replace(f"schema={schema}", f"schema={schema}_r{n}")


def _drop_schemas(urls: list[str]) -> None:
    for url in urls:
        store = parse_store_url(url)
        assert store.postgres_dsn is not None
        with psycopg.connect(store.postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{store.postgres_schema}" CASCADE')


# -- four processes cancel the same orders -----------------------------------------------------


def cancel_all(url: str, order_ids: list[str], start: float, seed: int) -> list[str]:
    order = list(order_ids)
    random.Random(seed).shuffle(order)
    time.sleep(max(0.0, start - time.time()))
    outcomes = []
    with Ledger.open(url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        for order_id in order:
            try:
                led.cancel(partner(), UUID(order_id))
                outcomes.append(f"{order_id} ok")
            except AlreadyCancelled:
                outcomes.append(f"{order_id} already")
    return outcomes


def test_r13_four_processes_cancelling_the_same_orders_cancel_each_once(
    durable_url: str, request: pytest.FixtureRequest
) -> None:
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        led.add_customer(partner(), customer(tenant_id=TENANT))
        orders = [
            str(led.purchase(partner(), TENANT, product(), 1, Money("10.00", "EUR")))
            for _ in range(12)
        ]
    start = time.time() + 1.5
    with SPAWN.Pool(WORKERS) as pool:
        results = pool.starmap(
            cancel_all, [(durable_url, orders, start, n) for n in range(WORKERS)]
        )
    wins = Counter(line.split()[0] for result in results for line in result if line.endswith("ok"))
    assert wins == dict.fromkeys(orders, 1)
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        lines = led.monthly_credits(partner(), "2026-11").lines
        assert Counter(str(line.order_id) for line in lines) == dict.fromkeys(orders, 1)
        assert led.audit.rebuild().matches
    _figure(
        request,
        f"{_kind(durable_url)}: {WORKERS} processes x {len(orders)} cancellations of the same"
        f" orders: {len(orders)} won, {len(orders) * (WORKERS - 1)} AlreadyCancelled,"
        " one credit each",
    )


# -- four processes buy with one idempotency key ----------------------------------------------


def buy_with_key(url: str, key: str, start: float) -> str:
    time.sleep(max(0.0, start - time.time()))
    with Ledger.open(url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        return str(led.purchase(partner(), TENANT, product(), 3, Money("20.00", "EUR"), key))


def test_r12_four_processes_buying_with_one_key_make_one_order(
    durable_url: str, request: pytest.FixtureRequest
) -> None:
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        led.add_customer(partner(), customer(tenant_id=TENANT))
    keys = [f"po-{n}" for n in range(5)]
    with SPAWN.Pool(WORKERS) as pool:
        pool.map(int, range(WORKERS))
        for key in keys:
            start = time.time() + 0.3
            ids = pool.starmap(buy_with_key, [(durable_url, key, start)] * WORKERS)
            assert len(set(ids)) == 1, ids
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        items = led.software(partner(), TENANT)
        assert len(items) == len(keys)
        names = {row["name"] for row in _keyring(led)}
        assert names == {"root", *(f"order:{item.order_id}" for item in items)}
        for item in items:
            assert len(led.view_key(partner(), item.order_id)) == 29
    _figure(
        request,
        f"{_kind(durable_url)}: {len(keys)} idempotency keys, each sent by {WORKERS} processes at"
        f" once: {len(keys)} orders, {len(keys)} data keys",
    )


def _keyring(led: Ledger) -> list[dict[str, object]]:
    rows = led._parts.keyring._run(
        [("SELECT name, key_id FROM {ledger_wrapped_keys}", ())], commit=False
    )
    return [dict(row) for row in rows]


# -- kill -9 during commands -----------------------------------------------------------------


def busy_writer(url: str, journal: str, first: int) -> None:
    """Keyed purchases, key views and cancellations; each one journalled once it returned."""
    with (
        Ledger.open(url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led,
        open(journal, "a", encoding="utf-8") as out,
    ):
        agent = partner()
        for n in range(first, first + 100_000):
            order_id = led.purchase(agent, TENANT, product(), 1, Money("10.00", "EUR"), f"k{n}")
            # A restart repeats the command that was in flight: it may have been recorded.
            with contextlib.suppress(KeyRevoked):
                led.view_key(agent, order_id)
            if n % 3 == 0:
                with contextlib.suppress(AlreadyCancelled):
                    led.cancel(agent, order_id)
            out.write(f"{n} {order_id}\n")
            out.flush()


def test_r13_a_writer_killed_mid_command_loses_and_doubles_nothing(
    durable_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kills = 8 if IN_CI else 3
    journal = tmp_path / "journal.txt"
    journal.touch()
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        led.add_customer(partner(), customer(tenant_id=TENANT))
    rng = random.Random(20261125)
    for _ in range(kills):
        done = journal.read_text().splitlines()
        # Start again after the last reported key: the next one may be recorded, in part.
        first = int(done[-1].split()[0]) + 1 if done else 0
        writer = SPAWN.Process(target=busy_writer, args=(durable_url, str(journal), first))
        writer.start()
        # Kill it once it is writing: after a few more commands, at a random moment.
        _wait_for_lines(journal, len(done) + rng.randint(1, 12))
        time.sleep(rng.random() * 0.03)
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL
    reported = _journal(journal)
    checked = check_store(durable_url, reported)
    assert checked >= kills
    _figure(
        request,
        f"{_kind(durable_url)}: writer killed -9 {kills} times mid-command; {checked} orders"
        f" checked: none lost, none doubled, every licence and data key there, views = rebuild",
    )


def _wait_for_lines(path: Path, count: int, text: str | None = None) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        lines = path.read_text().splitlines()
        if len([line for line in lines if text is None or line == text]) >= count:
            return
        time.sleep(0.005)
    raise AssertionError(f"{path.name} never reached {count} lines")


def _journal(path: Path) -> dict[int, str]:
    entries: dict[int, str] = {}
    for line in path.read_text().splitlines():
        number, order_id = line.split()
        entries.setdefault(int(number), order_id)
        assert entries[int(number)] == order_id, "one key, two orders"
    return entries


def check_store(url: str, reported: dict[int, str]) -> int:
    with Ledger.open(url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        items = {str(item.order_id): item for item in led.software(partner(), TENANT)}
        assert set(reported.values()) <= set(items), "a reported order was lost"
        purchased = Counter(
            n.originator_id
            for n in led._uow.events.recorder.select_notifications(
                start=None, limit=1_000_000, topics=["ledger:Order.Purchased.v1"]
            )
        )
        assert all(count == 1 for count in purchased.values())
        assert len(purchased) == len(items), "an order is missing from the views or doubled"
        statement = led.monthly_credits(partner(), "2026-11")
        credits = Counter(str(line.order_id) for line in statement.lines)
        for order_id, item in items.items():
            assert credits[order_id] == (1 if item.status == "cancelled" else 0)
            try:
                assert len(led.view_key(partner(), UUID(order_id))) == 29
            except KeyRevoked:
                assert item.status == "cancelled"
        report = led.audit.rebuild()
        assert report.matches, report.differences
        assert led.audit.verify().ok
        return len(items)


# -- kill -9 during view catch-up ------------------------------------------------------------


def open_and_catch_up(url: str, journal: str) -> None:
    """Open the store (which catches the views up), journalling each batch of views applied."""
    # Small batches: many commits, so that a kill lands between or inside them.
    updater.BATCH_SIZE = 40
    apply = LedgerViews.apply

    def journalled(self: LedgerViews, *args: object, **kwargs: object) -> None:
        # A batch applies in a few milliseconds: slowed down, the kill lands mid-backlog.
        time.sleep(0.02)
        apply(self, *args, **kwargs)  # type: ignore[arg-type]
        with open(journal, "a", encoding="utf-8") as out:
            out.write("batch\n")

    LedgerViews.apply = journalled  # type: ignore[method-assign]
    with (
        Ledger.open(url, clock=fixed_clock, secret_key=SECRET, logger=QUIET),
        open(journal, "a", encoding="utf-8") as out,
    ):
        out.write("opened\n")


def test_r13_a_process_killed_while_it_catches_up_views_applies_nothing_twice(
    durable_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    orders = 600 if IN_CI else 300
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        led.add_customer(partner(), customer(tenant_id=TENANT))
        for n in range(orders):
            order_id = led.purchase(partner(), TENANT, product(), 1, Money("1.00", "EUR"), f"b{n}")
            if n % 2 == 0:
                led.view_key(partner(), order_id)
        backlog = led._uow.events.recorder.max_notification_id() or 0
        # Views stay behind: commands do not catch up, only queries and Ledger.open do.
        assert led._updater.position() < backlog / 2
    journal = tmp_path / "catch-up.txt"
    journal.touch()
    rng = random.Random(7)
    kills = 6 if IN_CI else 3
    for _ in range(kills):
        batches = journal.read_text().count("batch")
        catcher = SPAWN.Process(target=open_and_catch_up, args=(durable_url, str(journal)))
        catcher.start()
        # Once it has applied a batch or a few, kill it: inside or between its commits.
        _wait_for_lines(journal, batches + rng.randint(1, 4), "batch")
        time.sleep(rng.random() * 0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(catcher.pid or 0, signal.SIGKILL)
        catcher.join()
    assert "opened" not in journal.read_text(), "a catch-up finished before it was killed"
    with Ledger.open(durable_url, clock=fixed_clock, secret_key=SECRET, logger=QUIET) as led:
        items = led.software(partner(), TENANT)
        assert len(items) == len({item.order_id for item in items}) == orders
        auditor = partner("g", Role.GLOBAL_ADMIN)
        activity = led.activity_log(auditor, date(2026, 11, 2), date(2026, 11, 2))
        assert len(activity) == (orders + 1) // 2
        report = led.audit.rebuild()
        assert report.matches, report.differences
        assert led.audit.verify().ok
    mid_catch_up = kills
    _figure(
        request,
        f"{_kind(durable_url)}: a backlog of {backlog} events; {mid_catch_up} processes killed -9"
        " inside their catch-up; then every event applied once, views = rebuild",
    )
