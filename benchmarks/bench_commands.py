"""Commands and queries of the `Ledger` facade against two baselines, on every store.

Baselines run in the same process and the same run, on the same kind of store:

* ``es``  – a bare ``eventsourcing`` application: one plain ``Aggregate`` order per
  purchase, created and saved; a cancel loads it, triggers one event and saves it.
* ``raw`` – the database driver alone (``sqlite3`` / ``psycopg``): one ``INSERT`` per
  order in its own transaction, one ``UPDATE`` per cancel, one ``SELECT`` per query.

Every ratio is *ledger cost ÷ baseline cost* (time per operation), so 3.0× means the
ledger takes three times as long as the baseline; below 1 the ledger is faster.

Run: ``.venv/bin/python benchmarks/bench_commands.py [--quick | --n N] [--stores ...]``.
Speed is only ever measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

import psycopg
import structlog
from common import (
    POSTGRES_CONNINFO,
    POSTGRES_URL,
    RESULTS_DIR,
    STORES,
    memory_es_env,
    postgres_admin,
    postgres_available,
    postgres_es_env,
    quiet_logging,
    sqlite_es_env,
    write_report,
)
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.console import Console
from rich.table import Table

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role

NOTIFICATION_BATCH = 500

AGENT = Actor(user="ann@fabrikam", roles=frozenset({Role.ADMIN_AGENT}), partner_id="fabrikam")
BIG_TENANT = UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e")
LAG_TENANT = UUID("7c2f4d3b-1e5f-4c9b-8d2f-3a4b5c6d7e8f")
WARMUP_TENANT = UUID("8d3a5e4c-2f6a-4dac-9e3a-4b5c6d7e8f90")
OFFICE = Product(
    product_id="DG7GMGF0D7FV",
    sku_id="0002",
    title="Office LTSC Professional Plus 2024",
    kind=ProductKind.PERPETUAL,
    versions=("2024",),
    languages=("en-US", "nl-NL"),
    bitness=(32, 64),
)
PRICE = Money("249.00", "EUR")

console = Console(width=140)


# -- results -------------------------------------------------------------------------------


@dataclass
class Measure:
    """One table row: the ledger's figure and each baseline's, in the same unit."""

    store: str
    name: str
    unit: str  # "cmd/s", "events/s" (higher is better) or "ms" (lower is better)
    ledger: float
    baselines: dict[str, float]
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")

    def ratio(self, baseline: str) -> float:
        """Ledger cost ÷ baseline cost: >1 means the ledger is slower."""
        other = self.baselines[baseline]
        if self.higher_is_better:
            return other / self.ledger
        return self.ledger / other

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "measure": self.name,
            "unit": self.unit,
            "ledger": self.ledger,
            "baselines": self.baselines,
            "ratios": {name: self.ratio(name) for name in self.baselines},
            "detail": self.detail,
        }


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.3f} ms" if value < 1 else f"{value:,.2f} ms"
    return f"{value:,.0f} {unit}"


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds from samples in seconds."""
    ordered = sorted(samples)
    p95_index = min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    return {
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[p95_index] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
        "count": len(ordered),
    }


def timed(operation: Callable[[], object]) -> float:
    start = time.perf_counter()
    operation()
    return time.perf_counter() - start


def throughput(operation: Callable[[int], object], n: int) -> tuple[float, list[float]]:
    """Run ``operation(i)`` n times back to back; returns ops/s and per-op seconds."""
    gc.collect()
    samples: list[float] = []
    start = time.perf_counter()
    for i in range(n):
        begin = time.perf_counter()
        operation(i)
        samples.append(time.perf_counter() - begin)
    return n / (time.perf_counter() - start), samples


# -- logging -------------------------------------------------------------------------------


def default_logging(sink: TextIO) -> None:
    """structlog's out-of-the-box pipeline (console renderer), writing to ``sink``."""
    structlog.reset_defaults()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sink))


# -- the bare-eventsourcing baseline -------------------------------------------------------


class BareOrder(Aggregate):
    """What an order minimally is in eventsourcing: one Created event, one Cancelled event."""

    def __init__(
        self, tenant_id: str, product_id: str, quantity: int, total_minor: int, currency: str
    ) -> None:
        self.tenant_id = tenant_id
        self.product_id = product_id
        self.quantity = quantity
        self.total_minor = total_minor
        self.currency = currency
        self.status = "active"

    @event("Cancelled")
    def cancel(self, at: str) -> None:
        self.status = "cancelled"


class BareOrders(Application[UUID]):
    name = "BareOrders"


def bare_purchase(app: BareOrders, tenant_id: UUID) -> UUID:
    order = BareOrder(str(tenant_id), OFFICE.product_id, 2, 49800, "EUR")
    app.save(order)
    return order.id


def bare_cancel(app: BareOrders, order_id: UUID) -> None:
    order: object = app.repository.get(order_id)
    assert isinstance(order, BareOrder)
    order.cancel(datetime.now(UTC).isoformat())
    app.save(order)


def bare_catch_up(app: BareOrders) -> int:
    """Read and decode every stored event, in batches (what a projection minimally does)."""
    position = 0
    count = 0
    while True:
        batch = app.recorder.select_notifications(
            start=position, limit=NOTIFICATION_BATCH, inclusive_of_start=False
        )
        if not batch:
            return count
        for notification in batch:
            app.mapper.to_domain_event(notification)
        count += len(batch)
        position = batch[-1].id


def bare_sees(app: BareOrders, position: int, order_id: UUID) -> tuple[bool, int]:
    batch = app.recorder.select_notifications(
        start=position, limit=NOTIFICATION_BATCH, inclusive_of_start=False
    )
    for notification in batch:
        if app.mapper.to_domain_event(notification).originator_id == order_id:
            return True, notification.id
    return False, position


# -- the raw-driver baseline ---------------------------------------------------------------

RAW_COLUMNS = (
    "order_id, partner_id, tenant_id, product_id, sku_id, title, quantity, currency,"
    " total_minor, status, purchased_at"
)


def raw_row(tenant_id: UUID) -> tuple[object, ...]:
    return (
        str(uuid.uuid4()),
        "fabrikam",
        str(tenant_id),
        OFFICE.product_id,
        OFFICE.sku_id,
        OFFICE.title,
        2,
        "EUR",
        49800,
        "active",
        datetime.now(UTC).isoformat(),
    )


class RawStore:
    """One writer connection and one reader connection; every write is its own transaction."""

    placeholder = "?"

    def __init__(self, table: str) -> None:
        self.table = table

    def execute(self, sql: str, params: tuple[object, ...] = (), *, reader: bool = False) -> Any:
        raise NotImplementedError

    def write(self, sql: str, params: tuple[object, ...]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def sql(self, text: str) -> str:
        return text.replace("{t}", self.table).replace("?", self.placeholder)

    def create(self) -> None:
        self.execute(
            self.sql(
                "CREATE TABLE {t} (order_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL,"
                " tenant_id TEXT NOT NULL, product_id TEXT NOT NULL, sku_id TEXT NOT NULL,"
                " title TEXT NOT NULL, quantity BIGINT NOT NULL, currency TEXT NOT NULL,"
                " total_minor BIGINT NOT NULL, status TEXT NOT NULL, purchased_at TEXT NOT NULL)"
            )
        )
        self.execute(self.sql("CREATE INDEX {t}_by_tenant ON {t} (tenant_id, purchased_at)"))

    def purchase(self, tenant_id: UUID) -> str:
        row = raw_row(tenant_id)
        self.write(
            self.sql(f"INSERT INTO {{t}} ({RAW_COLUMNS}) VALUES ({','.join('?' * 11)})"), row
        )
        return str(row[0])

    def cancel(self, order_id: str) -> None:
        self.write(self.sql("UPDATE {t} SET status = 'cancelled' WHERE order_id = ?"), (order_id,))

    def list_tenant(self, tenant_id: UUID, *, reader: bool = False) -> list[Any]:
        sql = self.sql(f"SELECT {RAW_COLUMNS} FROM {{t}} WHERE tenant_id = ? ORDER BY purchased_at")
        return list(self.execute(sql, (str(tenant_id),), reader=reader))

    def sees(self, order_id: str) -> bool:
        sql = self.sql("SELECT 1 FROM {t} WHERE order_id = ?")
        return bool(list(self.execute(sql, (order_id,), reader=True)))


class SQLiteRaw(RawStore):
    def __init__(self, database: str, *, uri: bool) -> None:
        super().__init__("raw_orders")
        # isolation_level=None: we write BEGIN/COMMIT ourselves, reads see the latest commit.
        self.writer = sqlite3.connect(database, uri=uri, isolation_level=None)
        self.reader = sqlite3.connect(database, uri=uri, isolation_level=None)
        if not uri:
            self.writer.execute("PRAGMA journal_mode=WAL")  # as eventsourcing.sqlite does

    def execute(self, sql: str, params: tuple[object, ...] = (), *, reader: bool = False) -> Any:
        return (self.reader if reader else self.writer).execute(sql, params).fetchall()

    def write(self, sql: str, params: tuple[object, ...]) -> None:
        self.writer.execute("BEGIN")
        self.writer.execute(sql, params)
        self.writer.execute("COMMIT")

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


class PostgresRaw(RawStore):
    placeholder = "%s"

    def __init__(self, schema: str) -> None:
        super().__init__(f'"{schema}".raw_orders')
        self.writer = psycopg.connect(POSTGRES_CONNINFO, autocommit=True)
        self.reader = psycopg.connect(POSTGRES_CONNINFO, autocommit=True)

    def sql(self, text: str) -> str:
        # The index name must not be schema-qualified.
        return super().sql(text).replace(f"{self.table}_by_tenant", "raw_orders_by_tenant")

    def execute(self, sql: str, params: tuple[object, ...] = (), *, reader: bool = False) -> Any:
        cursor = (self.reader if reader else self.writer).execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def write(self, sql: str, params: tuple[object, ...]) -> None:
        with self.writer.transaction():
            self.writer.execute(sql, params)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


# -- stores --------------------------------------------------------------------------------


@dataclass
class StoreSetup:
    kind: str
    ledger_url: str
    es_env: dict[str, str]
    raw: RawStore
    shared: bool  # can a second Ledger object open the same store?
    cleanup: Callable[[], None]


@contextmanager
def open_store(kind: str) -> Iterator[StoreSetup]:
    tag = uuid.uuid4().hex[:10]
    if kind == "memory":
        es_env = memory_es_env(f"bench-es-{tag}")
        raw: RawStore = SQLiteRaw(f"file:bench-raw-{tag}?mode=memory&cache=shared", uri=True)
        setup = StoreSetup(kind, "memory://", es_env, raw, shared=False, cleanup=raw.close)
        yield setup
        setup.cleanup()
    elif kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
        es_env = sqlite_es_env(directory / "es.db")
        raw = SQLiteRaw(str(directory / "raw.db"), uri=False)

        def remove() -> None:
            raw.close()
            shutil.rmtree(directory, ignore_errors=True)

        setup = StoreSetup(
            kind, f"sqlite:///{directory / 'ledger.db'}", es_env, raw, shared=True, cleanup=remove
        )
        yield setup
        setup.cleanup()
    else:
        schema = f"bench_{tag}"
        postgres_admin(f'CREATE SCHEMA "{schema}"')
        es_env = postgres_es_env(schema)
        raw = PostgresRaw(schema)

        def drop() -> None:
            raw.close()
            postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

        url = f"{POSTGRES_URL}?schema={schema}"
        setup = StoreSetup(kind, url, es_env, raw, shared=True, cleanup=drop)
        try:
            yield setup
        finally:
            setup.cleanup()


# -- the benchmark -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    n: int  # purchases measured per store
    warmup: int
    cancels: int
    queries: int
    lag_samples: int


def sizes_for(n: int) -> Sizes:
    return Sizes(
        n=n,
        warmup=max(5, min(20, n // 10)),
        cancels=max(10, n // 2),
        queries=max(10, min(50, n // 5)),
        lag_samples=max(10, min(50, n // 5)),
    )


def wait_until(seen: Callable[[], bool], polls: list[int], timeout: float = 10.0) -> float:
    """Poll ``seen`` back to back; seconds until it first returns True (polls appended)."""
    start = time.perf_counter()
    count = 1
    while not seen():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the write never became visible")
        count += 1
    elapsed = time.perf_counter() - start
    polls.append(count)
    return elapsed


@dataclass
class Run:
    """What one contestant (ledger, es or raw) measured on one store; times in seconds."""

    purchase_rate: float = 0.0
    purchase: list[float] = field(default_factory=list)
    cancel: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    lag_polls: list[int] = field(default_factory=list)
    caught_up: int = 0
    catch_up_seconds: float = 0.0
    listed: int = 0

    @property
    def catch_up_rate(self) -> float:
        return self.caught_up / self.catch_up_seconds


def bench_es(setup: StoreSetup, sizes: Sizes) -> Run:
    run = Run()
    es = BareOrders(env=setup.es_env)
    es_reader = BareOrders(env=setup.es_env)
    try:
        for _ in range(sizes.warmup):
            bare_cancel(es, bare_purchase(es, WARMUP_TENANT))
        ids: list[UUID] = []
        run.purchase_rate, run.purchase = throughput(
            lambda _: ids.append(bare_purchase(es, BIG_TENANT)), sizes.n
        )
        _, run.cancel = throughput(lambda i: bare_cancel(es, ids[i]), sizes.cancels)
        gc.collect()
        start = time.perf_counter()
        run.caught_up = bare_catch_up(es_reader)
        run.catch_up_seconds = time.perf_counter() - start
        state = {"position": es.recorder.max_notification_id() or 0}
        for _ in range(sizes.lag_samples):
            order_id = bare_purchase(es, LAG_TENANT)

            def seen(order_id: UUID = order_id) -> bool:
                found, state["position"] = bare_sees(es_reader, state["position"], order_id)
                return found

            run.lag.append(wait_until(seen, run.lag_polls))
    finally:
        es.close()
        es_reader.close()
    return run


def bench_raw(setup: StoreSetup, sizes: Sizes) -> Run:
    run = Run()
    raw = setup.raw
    raw.create()
    for _ in range(sizes.warmup):
        raw.cancel(raw.purchase(WARMUP_TENANT))
        raw.list_tenant(WARMUP_TENANT)
    ids: list[str] = []
    run.purchase_rate, run.purchase = throughput(
        lambda _: ids.append(raw.purchase(BIG_TENANT)), sizes.n
    )
    _, run.cancel = throughput(lambda i: raw.cancel(ids[i]), sizes.cancels)
    run.listed = len(raw.list_tenant(BIG_TENANT))
    run.query = [timed(lambda: raw.list_tenant(BIG_TENANT)) for _ in range(sizes.queries)]
    if setup.shared:
        for _ in range(sizes.lag_samples):
            raw_id = raw.purchase(LAG_TENANT)

            def seen(raw_id: str = raw_id) -> bool:
                return raw.sees(raw_id)

            run.lag.append(wait_until(seen, run.lag_polls))
    return run


def bench_ledger(setup: StoreSetup, sizes: Sizes, secret_key: bytes) -> Run:
    run = Run()
    writer = Ledger.open(setup.ledger_url, secret_key=secret_key)
    # The reader opens before anything is written, so its catch-up below is the whole run.
    reader = Ledger.open(setup.ledger_url, secret_key=secret_key) if setup.shared else writer
    try:
        for tenant, name in ((BIG_TENANT, "Contoso"), (LAG_TENANT, "Tailspin")):
            writer.add_customer(AGENT, Customer(tenant, f"{name.lower()}.example", name, "NL"))
        writer.add_customer(AGENT, Customer(WARMUP_TENANT, "warmup.example", "Warmup", "NL"))
        for _ in range(sizes.warmup):
            order = writer.purchase(AGENT, WARMUP_TENANT, OFFICE, 2, PRICE)
            writer.cancel(AGENT, order)
            writer.software(AGENT, WARMUP_TENANT)
        reader.software(AGENT, WARMUP_TENANT)

        ids: list[UUID] = []
        run.purchase_rate, run.purchase = throughput(
            lambda _: ids.append(writer.purchase(AGENT, BIG_TENANT, OFFICE, 2, PRICE)), sizes.n
        )
        _, run.cancel = throughput(lambda i: writer.cancel(AGENT, ids[i]), sizes.cancels)
        # Commands never project: the views are behind by every event written above.
        gc.collect()
        start = time.perf_counter()
        run.caught_up = reader.catch_up()
        run.catch_up_seconds = time.perf_counter() - start

        run.listed = len(writer.software(AGENT, BIG_TENANT))
        run.query = [
            timed(lambda: writer.software(AGENT, BIG_TENANT)) for _ in range(sizes.queries)
        ]
        if setup.shared:
            for _ in range(sizes.lag_samples):
                order_id = writer.purchase(AGENT, LAG_TENANT, OFFICE, 1, PRICE)

                def seen(order_id: UUID = order_id) -> bool:
                    items = reader.software(AGENT, LAG_TENANT)
                    return any(item.order_id == order_id for item in items)

                run.lag.append(wait_until(seen, run.lag_polls))
    finally:
        if reader is not writer:
            reader.close()
        writer.close()
    return run


def rows_for(
    kind: str, sizes: Sizes, led: Run, es: Run, raw: Run, *, shared: bool
) -> list[Measure]:
    def quantiles(run: Run, attribute: str) -> dict[str, float]:
        return percentiles(getattr(run, attribute))

    measures = [
        Measure(
            kind,
            "purchase throughput",
            "cmd/s",
            led.purchase_rate,
            {"es": es.purchase_rate, "raw": raw.purchase_rate},
            {
                "n": sizes.n,
                "latency_ms": {
                    "ledger": quantiles(led, "purchase"),
                    "es": quantiles(es, "purchase"),
                    "raw": quantiles(raw, "purchase"),
                },
            },
        )
    ]
    cancel = {
        name: quantiles(run, "cancel") for name, run in (("ledger", led), ("es", es), ("raw", raw))
    }
    for quantile in ("p50", "p95"):
        measures.append(
            Measure(
                kind,
                f"cancel latency {quantile}",
                "ms",
                cancel["ledger"][quantile],
                {"es": cancel["es"][quantile], "raw": cancel["raw"][quantile]},
                {"count": sizes.cancels, "latency_ms": cancel},
            )
        )
    query = {"ledger": quantiles(led, "query"), "raw": quantiles(raw, "query")}
    measures.append(
        Measure(
            kind,
            f"software() p50, {led.listed} orders",
            "ms",
            query["ledger"]["p50"],
            {"raw": query["raw"]["p50"]},
            {"ledger_orders": led.listed, "raw_rows": raw.listed, "latency_ms": query},
        )
    )
    if shared:
        lag = {
            name: quantiles(run, "lag") for name, run in (("ledger", led), ("es", es), ("raw", raw))
        }
        measures.append(
            Measure(
                kind,
                "projection lag p50",
                "ms",
                lag["ledger"]["p50"],
                {"es": lag["es"]["p50"], "raw": lag["raw"]["p50"]},
                {
                    "latency_ms": lag,
                    "max_polls": {
                        "ledger": max(led.lag_polls),
                        "es": max(es.lag_polls),
                        "raw": max(raw.lag_polls),
                    },
                },
            )
        )
    measures.append(
        Measure(
            kind,
            f"catch-up, {led.caught_up} events" + ("" if shared else " (same Ledger)"),
            "events/s",
            led.catch_up_rate,
            {"es": es.catch_up_rate},
            {
                "ledger": {"events": led.caught_up, "seconds": led.catch_up_seconds},
                "es": {"events": es.caught_up, "seconds": es.catch_up_seconds},
                "second_ledger": shared,
            },
        )
    )
    return measures


def bench_store(kind: str, sizes: Sizes, *, with_default_logging: bool) -> list[Measure]:
    secret_key = os.urandom(32)
    with open_store(kind) as setup:
        es = bench_es(setup, sizes)
        raw = bench_raw(setup, sizes)
        led = bench_ledger(setup, sizes, secret_key)
        measures = rows_for(kind, sizes, led, es, raw, shared=setup.shared)
        if with_default_logging:
            rate = bench_default_logging(setup.ledger_url, sizes.n, sizes.warmup, secret_key)
            measures.append(
                Measure(
                    kind,
                    "purchase throughput, default logging",
                    "cmd/s",
                    rate,
                    {"es": es.purchase_rate, "ledger quiet": led.purchase_rate},
                    {"n": sizes.n, "sink": os.devnull},
                )
            )
    return measures


def bench_default_logging(url: str, n: int, warmup: int, secret_key: bytes) -> float:
    """Purchase throughput with structlog left at its defaults (rendered, to /dev/null)."""
    with open(os.devnull, "w") as sink, Ledger.open(url, secret_key=secret_key) as led:
        tenant = uuid.uuid4()
        led.add_customer(AGENT, Customer(tenant, "logged.example", "Logged", "NL"))
        default_logging(sink)
        try:
            for _ in range(warmup):
                led.purchase(AGENT, tenant, OFFICE, 2, PRICE)
            rate, _ = throughput(lambda _: led.purchase(AGENT, tenant, OFFICE, 2, PRICE), n)
        finally:
            quiet_logging()
    return rate


# -- output --------------------------------------------------------------------------------


def render(measures: list[Measure], title: str) -> Table:
    table = Table(
        title=title,
        caption="ratio = ledger time per op ÷ baseline time per op (>1: the ledger is slower)",
    )
    table.add_column("store")
    table.add_column("measure")
    table.add_column("ledger", justify="right")
    table.add_column("baseline(s)", justify="right")
    table.add_column("ratio", justify="right")
    previous = None
    for m in measures:
        if previous is not None and m.store != previous:
            table.add_section()
        previous = m.store
        table.add_row(
            m.store,
            m.name,
            fmt(m.ledger, m.unit),
            "\n".join(f"{name} {fmt(v, m.unit)}" for name, v in m.baselines.items()),
            "\n".join(f"{name} {m.ratio(name):,.1f}×" for name in m.baselines),
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="N=100 purchases per store")
    size.add_argument("--n", type=int, default=500, help="purchases per store (default 500)")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument(
        "--no-default-logging",
        action="store_true",
        help="skip the extra memory row with structlog's default logging",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "bench_commands.json")
    args = parser.parse_args(argv)
    quiet_logging()

    sizes = sizes_for(100 if args.quick else args.n)
    stores = list(args.stores)
    if "postgres" in stores and (problem := postgres_available()):
        console.print(f"[yellow]skipping postgres[/]: {problem}")
        stores.remove("postgres")

    started = time.perf_counter()
    measures: list[Measure] = []
    for kind in stores:
        console.print(f"[dim]{kind}: {sizes.n} purchases, {sizes.cancels} cancels ...[/]")
        measures += bench_store(
            kind, sizes, with_default_logging=kind == "memory" and not args.no_default_logging
        )
    elapsed = time.perf_counter() - started

    title = (
        f"ledger vs baselines — N={sizes.n} purchases/store, {sizes.cancels} cancels,"
        f" {sizes.queries} queries, {sizes.lag_samples} lag samples ({elapsed:.0f} s)"
    )
    console.print(render(measures, title))

    write_report(
        args.output,
        "bench_commands",
        ("eventsourcing", "psycopg"),
        {
            "sizes": sizes.__dict__,
            "elapsed_seconds": elapsed,
            "ratio_definition": "ledger time per operation / baseline time per operation",
            "measures": [m.to_json() for m in measures],
        },
    )
    console.print(f"[dim]wrote {args.output}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
