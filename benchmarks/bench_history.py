"""History at scale: rebuild, verify and export over a large event log; follower lag; an
activity page. Each figure beside a bare-eventsourcing baseline measured in the same run.

Stores: SQLite (a file) and PostgreSQL (a fresh schema), each loaded with ``--events``
events (1,000,000 by default; 40,000 with ``--quick``) by the bulk loader below.

The bulk loader writes exactly the events the API writes: it calls the same
domain methods the facade calls (``Tenant.add``, ``Order.purchase``,
``Licence.issue`` with a key sealed by the ledger's vault, ``Licence.view_key``
/ ``hand_out_link``, ``Order.cancel``) and saves them through the ledger's own
event store, so every row goes through the ledger's mapper and is sealed; it
only skips the per-command checks and puts up to ~2,000 events in one
transaction. The mix per order: a purchase (2 events), 12 access records
(key views, downloads, copied links), and every 10th order is cancelled (3
events); a customer per 5 orders, over 10 partners and 60 days.

Measured, each in a fresh subprocess so that peak RSS is the operation's own:

* ``audit.rebuild()`` (replay into a temporary SQLite file + ordered merge with
  the live views), ``led.rebuild_views()``, ``audit.verify()`` and
  ``audit.export_events()``: events/s and peak RSS;
* baseline: bare eventsourcing reading the same notification log
  (``recorder.select_notifications`` in batches of 500, nothing else);
* the first page of 100 of a partner's activity log over a month, p95 of 200,
  beside bare eventsourcing selecting 100 notifications;
* PostgreSQL only: commit→visible lag of a follower (``ledger views follow`` in
  its own process) under a steady write load, p50/p99, beside eventsourcing's
  own ``ProjectionRunner`` with a one-counter projection on the same log.

Run: ``.venv/bin/python benchmarks/bench_history.py [--quick] [--events N]
[--stores sqlite postgres]``. Prints a table; writes
``benchmarks/results/bench_history.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from common import (
    POSTGRES_URL,
    RESULTS_DIR,
    postgres_admin,
    postgres_available,
    postgres_es_env,
    quiet_logging,
    sqlite_es_env,
    write_report,
)
from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.utils import Environment
from rich.console import Console
from rich.table import Table

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.aggregates import Licence, Order, Tenant
from ledger.keys import generate_mak
from ledger.mapper import CompactJSONTranscoder, PydanticMapper

SECRET = b"b" * 32
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
HERE = Path(__file__).resolve()


# -- loading ---------------------------------------------------------------------------------


def bulk_load(url: str, events: int, seed: int | None = None) -> int:
    """Write about ``events`` events the way the API writes them; returns how many.

    With a ``seed``, tenant and order ids come from a seeded generator, so two loads
    hold the same customers, orders and access records (keys and seals still differ).
    """
    new_id = uuid4 if seed is None else _seeded_ids(seed)
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        store = led._uow.events
        vault = led._vault
        policy = led.cancellation_policy
        written = 0
        order_no = 0
        pending: list[Any] = []
        tenant: Tenant | None = None
        while written < events:
            partner_id = PARTNERS[order_no % len(PARTNERS)]
            now = START + timedelta(seconds=order_no * 37 % (60 * 86400))
            if order_no % 5 == 0 or tenant is None or not tenant.is_registered_by(partner_id):
                customer = Customer(
                    tenant_id=new_id(), domain=f"c{order_no}.example", name="Contoso", market="NL"
                )
                tenant = Tenant.add(partner_id, customer, "ann", now)
                pending.append(tenant)
                written += 1
            order_id = new_id()
            order = Order.purchase(
                order_id=order_id,
                partner_id=partner_id,
                customer=tenant.customer_for(partner_id),
                product=OFFICE,
                quantity=2,
                unit_price=Money("249.00", "EUR"),
                activation="MAK",
                policy=policy,
                idempotency_key=None,
                request_fingerprint="0" * 64,
                user="ann",
                now=now,
            )
            licence = Licence.issue(
                order,
                OFFICE,
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
                order.cancel(licence, policy, "ann", now + timedelta(days=1))
                written += 3
            order_no += 1
            if len(pending) >= 600:
                store.save(*pending)
                pending = []
        if pending:
            store.save(*pending)
        return int(store.recorder.max_notification_id() or 0)


def _seeded_ids(seed: int) -> Callable[[], UUID]:
    generator = random.Random(seed)
    return lambda: UUID(int=generator.getrandbits(128), version=4)


# -- one measurement in its own process ------------------------------------------------------


def measure(operation: str, url: str) -> dict[str, Any]:
    """Run one operation and report its rate and this process's peak RSS."""
    quiet_logging()
    if operation == "page_baseline":
        return _page_baseline(url)
    if operation == "page":
        return _page(url)
    started = time.perf_counter()
    count = _baseline(url) if operation == "baseline" else _ledger_operation(operation, url)
    elapsed = time.perf_counter() - started
    return {
        "events": count,
        "seconds": elapsed,
        "events_per_s": count / elapsed if elapsed else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _baseline(url: str) -> int:
    """Bare eventsourcing reading the whole notification log, 500 at a time."""
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


def _ledger_operation(operation: str, url: str) -> int:
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        count = int(led._uow.events.recorder.max_notification_id() or 0)
        if operation == "rebuild":
            report = led.audit.rebuild()
            assert report.matches, report.differences[:3]
        elif operation == "rebuild_views":
            assert led.rebuild_views().position == count
        elif operation == "verify":
            assert led.audit.verify().ok
        elif operation == "export":
            with tempfile.TemporaryDirectory() as directory:
                assert led.audit.export_events(Path(directory) / "e.jsonl") == count
        elif operation == "catch_up":
            led.catch_up()
        else:
            raise SystemExit(f"unknown operation {operation}")
        return count


def _page(url: str) -> dict[str, Any]:
    """The first page of 100 of a partner's activity over a month, 200 times."""
    month = (date(2026, 10, 1), date(2026, 10, 31))
    times = []
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        for n in range(200):
            reader = Actor(user="gail", roles={Role.GLOBAL_ADMIN}, partner_id=PARTNERS[n % 10])
            started = time.perf_counter()
            page = led.activity_log(reader, *month, limit=100)
            times.append(time.perf_counter() - started)
            assert len(page) == 100
        entries = led._views.query("SELECT COUNT(*) AS n FROM {ledger_activity}", ())
    return {
        "p95_ms": percentile(times, 95) * 1000,
        "p50_ms": percentile(times, 50) * 1000,
        "entries": int(entries[0]["n"]),
    }


def _page_baseline(url: str) -> dict[str, Any]:
    """Bare eventsourcing selecting 100 notifications from places across the log."""
    app = Baseline(env=es_env(url))
    head = app.recorder.max_notification_id() or 0
    times = []
    for n in range(200):
        started = time.perf_counter()
        app.recorder.select_notifications(
            start=(n * 4999) % max(head, 1), limit=100, inclusive_of_start=False
        )
        times.append(time.perf_counter() - started)
    app.close()
    return {"p95_ms": percentile(times, 95) * 1000, "p50_ms": percentile(times, 50) * 1000}


def es_env(url: str) -> dict[str, str]:
    """Bare eventsourcing settings for the ledger's own event table."""
    if url.startswith("sqlite:///"):
        return sqlite_es_env(Path(url[len("sqlite:///") :]))
    schema = url.split("schema=")[1]
    # The ledger's application is named "Ledger": its PostgreSQL table is ledger_events.
    return postgres_es_env(schema)


def in_subprocess(operation: str, url: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, str(HERE), "--measure", operation, "--url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- follower lag (PostgreSQL) ------------------------------------------------------------------


class Baseline(Application[Any]):
    """Bare eventsourcing on the ledger's own log (its PostgreSQL table is ledger_events).

    The one thing it borrows is the ledger's event classes' decoding (without
    any seal check), because eventsourcing's default mapper cannot build
    pydantic events.
    """

    name = "Ledger"

    def construct_mapper(self) -> Any:
        return PydanticMapper(transcoder=CompactJSONTranscoder())


class CounterView(PostgresTrackingRecorder):
    """The lightest view there is: only the tracking record (bench_counter_tracking)."""

    def count(self, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            self._insert_tracking(cursor, tracking)


class CounterProjection(Projection[CounterView]):
    name = "bench_counter"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        self.view.count(tracking)


def lag_run(url: str, writes: int, rate: float, follower: str) -> dict[str, Any]:
    """Steady writes at ``rate``/s; how long until each committed position is in the views?"""
    agent = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        tenant = Customer(tenant_id=uuid4(), domain="lag.example", name="Lag", market="NL")
        led.add_customer(agent, tenant)
        order = led.purchase(agent, tenant.tenant_id, OFFICE, 1, Money("10.00", "EUR"))
        with _follower(follower, url, led) as position:
            head = led._uow.events.recorder.max_notification_id() or 0
            deadline = time.monotonic() + 120
            while position() < head and time.monotonic() < deadline:
                time.sleep(0.01)
            lags = _lags(led, position, lambda: led.view_key(agent, order), writes, rate)
    return {
        "writes": writes,
        "rate_per_s": rate,
        "seen": len(lags),
        "p50_ms": percentile(lags, 50) * 1000,
        "p99_ms": percentile(lags, 99) * 1000,
        "max_ms": max(lags) * 1000,
    }


@contextmanager
def _follower(kind: str, url: str, led: Ledger) -> Iterator[Any]:
    """Start ``ledger views follow`` (or a bare ProjectionRunner); yield its position()."""
    if kind == "ledger":
        env = {
            **os.environ,
            "LEDGER_URL": url,
            "PYTHONPATH": str(HERE.parent.parent),
            "LEDGER_SECRET_KEY": base64.urlsafe_b64encode(SECRET).decode(),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "views", "follow"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield led._updater.position
        finally:
            process.terminate()
            process.wait(timeout=20)
        return
    # Start the runner at the head: it would first replay the whole log, one event per
    # transaction, and the lag measured would be that catch-up's.
    env = postgres_es_env(url.split("schema=")[1])
    counter_factory = InfrastructureFactory.construct(Environment(CounterProjection.name, env))
    counter_factory.tracking_recorder(CounterView).insert_tracking(
        Tracking("Ledger", led._uow.events.recorder.max_notification_id() or 0)
    )
    counter_factory.close()
    with ProjectionRunner(
        application_class=Baseline,
        projection_class=CounterProjection,
        view_class=CounterView,
        env=env,
    ) as runner:
        view = runner._tracking_recorder
        yield lambda: int(view.max_tracking_id("Ledger") or 0)


def _lags(led: Ledger, position: Any, write: Any, writes: int, rate: float) -> list[float]:
    """Write at a steady rate; a watcher notes when each written position becomes visible."""
    committed: list[tuple[int, float]] = []
    visible: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        seen = 0
        while seen < writes:
            at, now = position(), time.perf_counter()
            while seen < len(committed) and committed[seen][0] <= at:
                visible[committed[seen][0]] = now
                seen += 1
            if done.is_set() and time.perf_counter() - committed[-1][1] > 10:
                return
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    next_at = time.perf_counter()
    for _ in range(writes):
        write()
        committed.append((led._uow.last_position, time.perf_counter()))
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))
    done.set()
    watcher.join()
    return [visible[p] - t for p, t in committed if p in visible]


# -- the run ---------------------------------------------------------------------------------


@contextmanager
def store(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-history-") as directory:
            yield f"sqlite:///{Path(directory) / 'history.db'}"
        return
    schema = f"bench_history_{uuid4().hex[:8]}"
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


OPERATIONS = ("rebuild", "rebuild_views", "verify", "export")


def run(args: argparse.Namespace) -> dict[str, Any]:
    console = Console()
    results: dict[str, Any] = {}
    for kind in args.stores:
        if kind == "postgres" and (problem := postgres_available()):
            console.print(f"[yellow]skipping PostgreSQL: {problem}[/yellow]")
            continue
        with store(kind) as url:
            started = time.perf_counter()
            events = bulk_load(url, args.events)
            load_s = time.perf_counter() - started
            console.print(f"{kind}: loaded {events:,} events in {load_s:.0f} s")
            first = in_subprocess("catch_up", url)  # the live views, as a follower would build them
            figures: dict[str, Any] = {"events": events, "load_s": load_s, "catch_up": first}
            figures["baseline"] = in_subprocess("baseline", url)
            for operation in OPERATIONS:
                figures[operation] = in_subprocess(operation, url)
                console.print(f"  {operation}: {figures[operation]['events_per_s']:,.0f} events/s")
            figures["page"] = in_subprocess("page", url)
            figures["page_baseline"] = in_subprocess("page_baseline", url)
            if kind == "postgres":
                writes = 300 if args.quick else 2000
                figures["lag"] = lag_run(url, writes, args.rate, "ledger")
                figures["lag_baseline"] = lag_run(url, writes, args.rate, "projection_runner")
            results[kind] = figures
            partial = RESULTS_DIR / "bench_history_partial.json"
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(results, indent=2) + "\n")
    return results


def show(results: dict[str, Any]) -> None:
    table = Table(title="History at scale (events/s; peak RSS of the operation's process)")
    for column in ("store", "operation", "ledger", "baseline", "ratio", "peak RSS", "goal"):
        table.add_column(column)
    goals = {
        "rebuild": "≥100k/s, <200 MB",
        "rebuild_views": "–",
        "verify": "≥200k/s, bounded",
        "export": "≥100k/s, bounded",
        "catch_up": "–",
    }
    for kind, figures in results.items():
        base = figures["baseline"]
        for operation in ("catch_up", *OPERATIONS):
            f = figures[operation]
            table.add_row(
                kind,
                f"{operation} ({f['events']:,})",
                f"{f['events_per_s']:,.0f}",
                f"{base['events_per_s']:,.0f}",
                f"{f['events_per_s'] / base['events_per_s']:.2f}",
                f"{f['peak_rss_mb']:.0f} MB (base {base['peak_rss_mb']:.0f})",
                goals[operation],
            )
        page, page_base = figures["page"], figures["page_baseline"]
        table.add_row(
            kind,
            f"activity page of 100 ({page['entries']:,} entries)",
            f"p95 {page['p95_ms']:.2f} ms",
            f"p95 {page_base['p95_ms']:.2f} ms",
            f"{page['p95_ms'] / page_base['p95_ms']:.2f}",
            "",
            "p95 < 10 ms",
        )
        if "lag" in figures:
            lag, lag_base = figures["lag"], figures["lag_baseline"]
            table.add_row(
                kind,
                f"follower lag, {lag['rate_per_s']:.0f} writes/s",
                f"p50 {lag['p50_ms']:.1f} / p99 {lag['p99_ms']:.1f} ms",
                f"p50 {lag_base['p50_ms']:.1f} / p99 {lag_base['p99_ms']:.1f} ms",
                f"{lag['p99_ms'] / lag_base['p99_ms']:.2f}",
                "",
                "p99 < 50 ms",
            )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40,000 events: under 2 minutes")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--rate", type=float, default=100.0, help="writes/s for the lag run")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.url)))
        return
    quiet_logging()
    args.events = args.events or (40_000 if args.quick else 1_000_000)
    results = run(args)
    show(results)
    name = "bench_history_quick.json" if args.quick else "bench_history.json"
    write_report(
        RESULTS_DIR / name,
        "bench_history",
        ("eventsourcing", "psycopg"),
        {"events_requested": args.events, "results": results},
    )
    print(f"wrote {RESULTS_DIR / name}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    main()
