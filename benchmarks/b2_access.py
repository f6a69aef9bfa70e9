"""B2 — access cost against history length: ``view_key``, ``download`` and ``copy_link``
after H earlier accesses of the same order.

For each store (memory, SQLite, PostgreSQL) and each history length H (0, 1,000 and
10,000 earlier key views of the same order; ``--quick``: 0 and 1,000), the p50 of one
more ``view_key``, ``download`` and ``copy_link``. Every H has its own order in the same
store and the orders are sampled round-robin, so table size and machine load are the same
for all; only the order's own history differs. The target is on the ledger against itself:
cost at the largest H ÷ cost at H=0 ≤ 1.2×. Beside it, two bare-eventsourcing baselines in
the same process on the same kind of store:

* ``es stream`` – the naive design: a bare ``Aggregate`` licence whose views are events in
  its own stream; one more view loads the aggregate (replaying H events) and appends one.
* ``es record`` – the floor: saving one event to a fresh stream, no load at all.

Then 4 threads view one key at once: views/s and how many writes conflicted
(eventsourcing ``IntegrityError``, which a writer must retry), for the ledger and for the
``es stream`` design (which retries each conflict).

Run alone: ``.venv/bin/python benchmarks/b2_access.py [--quick] [--stores memory sqlite
postgres]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from common import (
    POSTGRES_URL,
    STORES,
    memory_es_env,
    postgres_admin,
    postgres_available,
    postgres_es_env,
    quiet_logging,
    sqlite_es_env,
)
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from suite import Row, rate_ratio, show, time_ratio, write_rows

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role

AGENT = Actor(user="ann@fabrikam", roles={Role.ADMIN_AGENT}, partner_id="fabrikam")
OFFICE = Product(
    product_id="DG7GMGF0D7FV",
    sku_id="0002",
    title="Office LTSC Professional Plus 2024",
    kind=ProductKind.PERPETUAL,
    versions=("2024",),
    languages=("en-US",),
    bitness=(64,),
)
TENANT = UUID("3a9d7c1e-5b2f-4d8a-9e6c-7f1a2b3c4d5e")
THREADS = 4
TARGET = 1.2
#: history lengths H, samples per p50, views per thread
QUICK: tuple[tuple[int, ...], int, int] = ((0, 1_000), 20, 10)
FULL: tuple[tuple[int, ...], int, int] = ((0, 1_000, 10_000), 200, 100)


class BareLicence(Aggregate):
    """The naive licence: every view is an event in the licence's own stream."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.revoked = False

    @event("KeyViewed")
    def view(self, user: str) -> None:
        pass


class BareViewed(Aggregate):
    """The floor: one access record, one event, a stream of its own."""

    def __init__(self, order_id: str, user: str) -> None:
        self.order_id = order_id
        self.user = user


class BareApp(Application[UUID]):
    name = "BareAccess"


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def sample(operation: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return samples


@contextmanager
def ledger_store(store: str, directory: Path) -> Iterator[str]:
    if store == "memory":
        yield "memory://"
    elif store == "sqlite":
        yield f"sqlite:///{directory / f'ledger-{uuid.uuid4().hex[:6]}.db'}"
    else:
        schema = f"bench_access_{uuid.uuid4().hex[:8]}"
        try:
            yield f"{POSTGRES_URL}?schema={schema}"
        finally:
            postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def bare_app(store: str, directory: Path) -> Iterator[BareApp]:
    schema = f"bench_bare_{uuid.uuid4().hex[:8]}"
    if store == "memory":
        env = memory_es_env(f"bare-{uuid.uuid4().hex}")
    elif store == "sqlite":
        env = sqlite_es_env(directory / f"bare-{uuid.uuid4().hex[:6]}.db")
    else:
        postgres_admin(f'CREATE SCHEMA "{schema}"')
        env = postgres_es_env(schema)
    app = BareApp(env=env)
    try:
        yield app
    finally:
        app.close()
        if store == "postgres":
            postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class ConflictCounter:
    """Counts writes refused because a racing writer took the version (IntegrityError)."""

    def __init__(self, recorder: Any) -> None:
        self.count = 0
        self._lock = threading.Lock()
        original = recorder.insert_events

        def insert_events(*args: Any, **kwargs: Any) -> Any:
            try:
                return original(*args, **kwargs)
            except IntegrityError:
                with self._lock:
                    self.count += 1
                raise

        recorder.insert_events = insert_events


def concurrent(operation: Callable[[], object], per_thread: int) -> float:
    """Views per second with `THREADS` threads each running ``operation`` ``per_thread`` times."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                operation()
        except BaseException as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return THREADS * per_thread / elapsed


def grow_bare(app: BareApp, licence_id: UUID, views: int) -> None:
    """Append ``views`` view events to the naive licence, a thousand per save."""
    while views > 0:
        licence: Any = app.repository.get(licence_id)
        for _ in range(min(views, 1_000)):
            licence.view(user="ann")
        app.save(licence)
        views -= 1_000


def bare_view_retrying(app: BareApp, licence_id: UUID) -> int:
    """One view in the naive design; returns how many attempts lost to a racing writer."""
    lost = 0
    while True:
        licence: Any = app.repository.get(licence_id)
        licence.view(user="ann")
        try:
            app.save(licence)
            return lost
        except IntegrityError:
            lost += 1


def interleaved(operations: dict[int, Callable[[], object]], n: int) -> dict[int, float]:
    """p50 of each operation, sampled round-robin so that load and table size hit all alike."""
    samples: dict[int, list[float]] = {key: [] for key in operations}
    for _ in range(n):
        for key, operation in operations.items():
            start = time.perf_counter()
            operation()
            samples[key].append(time.perf_counter() - start)
    return {key: p50_ms(values) for key, values in samples.items()}


def measure_store(store: str, lengths: tuple[int, ...], n: int, per_thread: int) -> dict[str, Any]:
    """One order (and one naive licence) per history length H, all in one store, measured
    side by side: what differs between them is only their own history."""
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        directory = Path(tmp)
        with (
            ledger_store(store, directory) as url,
            Ledger.open(url, secret_key=b"b" * 32) as led,
            bare_app(store, directory) as bare,
        ):
            tenant = TENANT
            led.add_customer(
                AGENT, Customer(tenant_id=tenant, domain="c.example", name="C", market="NL")
            )
            orders: dict[int, UUID] = {}
            licences: dict[int, UUID] = {}
            for length in lengths:
                order_id = led.purchase(AGENT, tenant, OFFICE, 1, Money("249.00", "EUR"))
                for _ in range(length):  # the ledger's history goes through its API
                    led.view_key(AGENT, order_id)
                licence = BareLicence(str(order_id))
                bare.save(licence)
                grow_bare(bare, licence.id, length)
                orders[length], licences[length] = order_id, licence.id

            def viewing(order_id: UUID) -> Callable[[], object]:
                return lambda: led.view_key(AGENT, order_id)

            def downloading(order_id: UUID) -> Callable[[], object]:
                return lambda: led.download(AGENT, order_id, "2024", "en-US", 64)

            def naive(licence_id: UUID) -> Callable[[], object]:
                return lambda: bare_view_retrying(bare, licence_id)

            def copying(order_id: UUID) -> Callable[[], object]:
                return lambda: led.copy_link(AGENT, order_id, "2024", "en-US", 64)

            views = interleaved({h: viewing(o) for h, o in orders.items()}, n)
            downloads = interleaved({h: downloading(o) for h, o in orders.items()}, n)
            copies = interleaved({h: copying(o) for h, o in orders.items()}, n)
            streams = interleaved({h: naive(lic) for h, lic in licences.items()}, n)
            floor = p50_ms(sample(lambda: bare.save(BareViewed("order", "ann")), n))
            rows = [
                {
                    "history": h,
                    "view_key_ms": views[h],
                    "download_ms": downloads[h],
                    "copy_link_ms": copies[h],
                    "es_stream_ms": streams[h],
                    "es_record_ms": floor,
                }
                for h in lengths
            ]
            # Threads: a fresh order and a fresh naive licence, so only contention differs.
            fresh = led.purchase(AGENT, tenant, OFFICE, 1, Money("249.00", "EUR"))
            fresh_licence = BareLicence(str(fresh))
            bare.save(fresh_licence)
            conflicts = ConflictCounter(led._uow.events.recorder)
            ledger_rate = concurrent(lambda: led.view_key(AGENT, fresh), per_thread)
            single_rate = concurrent_single(lambda: led.view_key(AGENT, fresh), per_thread)
            bare_conflicts = ConflictCounter(bare.recorder)
            bare_rate = concurrent(lambda: bare_view_retrying(bare, fresh_licence.id), per_thread)
    return {
        "store": store,
        "rows": rows,
        "threads": {
            "threads": THREADS,
            "views": THREADS * per_thread,
            "ledger_views_per_s": ledger_rate,
            "ledger_one_thread_views_per_s": single_rate,
            "ledger_conflicts": conflicts.count,
            "es_stream_views_per_s": bare_rate,
            "es_stream_conflicts": bare_conflicts.count,
        },
    }


def concurrent_single(operation: Callable[[], object], per_thread: int) -> float:
    start = time.perf_counter()
    for _ in range(THREADS * per_thread):
        operation()
    return THREADS * per_thread / (time.perf_counter() - start)


OPERATIONS = (
    ("view_key", "view_key_ms"),
    ("download", "download_ms"),
    ("copy_link", "copy_link_ms"),
)


def rows_for(result: dict[str, Any]) -> list[Row]:
    store = result["store"]
    by_h = {row["history"]: row for row in result["rows"]}
    top, first = max(by_h), by_h[min(by_h)]
    last = by_h[top]
    extra = {"by_history": result["rows"], "samples": result["samples"]}
    rows = [
        Row(
            bench="B2",
            store=store,
            measure=f"{name} p50, H={top:,} vs H=0",
            ledger=last[key],
            baseline=first[key],
            baseline_name="ledger H=0",
            unit="ms",
            ratio=time_ratio(last[key], first[key]),
            target=f"≤ {TARGET}×",
            met=time_ratio(last[key], first[key]) <= TARGET,
            extra=extra,
        )
        for name, key in OPERATIONS
    ]
    rows.append(
        Row(
            bench="B2",
            store=store,
            measure=f"view_key p50, H={top:,}",
            ledger=last["view_key_ms"],
            baseline=last["es_stream_ms"],
            baseline_name="es stream (naive)",
            unit="ms",
            ratio=time_ratio(last["view_key_ms"], last["es_stream_ms"]),
            extra={"es_stream_growth": time_ratio(last["es_stream_ms"], first["es_stream_ms"])},
        )
    )
    rows.append(
        Row(
            bench="B2",
            store=store,
            measure="view_key p50, H=0",
            ledger=first["view_key_ms"],
            baseline=first["es_record_ms"],
            baseline_name="es record",
            unit="ms",
            ratio=time_ratio(first["view_key_ms"], first["es_record_ms"]),
        )
    )
    t = result["threads"]
    rows.append(
        Row(
            bench="B2",
            store=store,
            measure=f"{THREADS} threads viewing one key",
            ledger=t["ledger_views_per_s"],
            baseline=t["es_stream_views_per_s"],
            baseline_name="es stream (naive)",
            unit="views/s",
            ratio=rate_ratio(t["ledger_views_per_s"], t["es_stream_views_per_s"]),
            extra=t,
        )
    )
    return rows


def run(quick: bool, stores: Sequence[str]) -> list[Row]:
    lengths, samples, per_thread = QUICK if quick else FULL
    rows: list[Row] = []
    for store in stores:
        if store not in STORES:
            continue
        if store == "postgres" and (problem := postgres_available()):
            print(f"B2: PostgreSQL skipped: {problem}")
            continue
        result = measure_store(store, lengths, samples, per_thread)
        result["samples"] = samples
        rows += rows_for(result)
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="H = 0 and 1,000, fewer samples")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    args = parser.parse_args(argv)
    quiet_logging()
    rows = run(args.quick, args.stores)
    show(rows, "B2 — access cost against the order's history length")
    print(f"wrote {write_rows('b2_access', rows, ('eventsourcing', 'psycopg'), quick=args.quick)}")


if __name__ == "__main__":
    main(sys.argv[1:])
