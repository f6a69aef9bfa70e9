"""B4 — follower lag on PostgreSQL: how long from a write's commit until its position is
in the views of a ``views="follower"`` ledger kept up to date by ``ledger views follow``.

A fresh PostgreSQL schema gets a history from `datasets.bulk_load` (50,000 events;
``--quick``: 2,000), then a writer ``Ledger`` runs ``view_key`` at a steady 100 writes/s
(2,000 writes; ``--quick``: 300) while the follower (``ledger views follow`` in its own
process, default settings) keeps the views up to date, and a watcher thread polls the
views' position every 0.5 ms and notes when each committed position becomes visible.

Baseline, same run, same log, same writes: eventsourcing's own ``ProjectionRunner`` with
the lightest projection there is (it only records its tracking position), started at the
head of the log. Ratio: ledger lag ÷ baseline lag, at p50 and at p99.

Run alone: ``.venv/bin/python benchmarks/b4_lag.py [--quick] [--rate 100] [--writes N]``.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from common import postgres_available, postgres_es_env, quiet_logging
from datasets import OFFICE, SECRET, Baseline, bulk_load, percentile, store
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.utils import Environment
from suite import Row, show, time_ratio, write_rows

from ledger import Actor, Customer, Ledger, Money, Role

HERE = Path(__file__).resolve()
RATE = 100.0
AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
LAG_TENANT = UUID("5e1c9a4b-7d2f-4e3a-8b6c-1d2e3f4a5b6c")


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
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        tenant = Customer(tenant_id=LAG_TENANT, domain="lag.example", name="Lag", market="NL")
        led.add_customer(AGENT, tenant)
        order = led.purchase(AGENT, tenant.tenant_id, OFFICE, 1, Money("10.00", "EUR"))
        with _follower(follower, url, led) as position:
            head = led._uow.events.recorder.max_notification_id() or 0
            started = time.monotonic()
            while position() < head and time.monotonic() < started + 300:
                time.sleep(0.01)
            caught_up_s = time.monotonic() - started
            lags = _lags(led, position, lambda: led.view_key(AGENT, order), writes, rate)
    return {
        "follower": follower,
        "writes": writes,
        "rate_per_s": rate,
        "seen": len(lags),
        "initial_catch_up_s": caught_up_s,
        "p50_ms": percentile(lags, 50) * 1000,
        "p99_ms": percentile(lags, 99) * 1000,
        "max_ms": max(lags) * 1000 if lags else float("nan"),
    }


@contextmanager
def _follower(kind: str, url: str, led: Ledger) -> Iterator[Callable[[], int]]:
    """Start ``ledger views follow`` (or a bare ProjectionRunner); yield its position()."""
    if kind == "ledger":
        env = {
            **os.environ,
            "LEDGER_URL": url,
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


def _lags(
    led: Ledger, position: Callable[[], int], write: Callable[[], object], writes: int, rate: float
) -> list[float]:
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


def run(
    quick: bool,
    stores: Sequence[str],
    writes: int | None = None,
    rate: float = RATE,
    events: int | None = None,
) -> list[Row]:
    if "postgres" not in stores:
        return []
    if problem := postgres_available():
        print(f"B4: PostgreSQL skipped: {problem}")
        return []
    writes = writes or (300 if quick else 2_000)
    events = events or (2_000 if quick else 50_000)
    with store("postgres") as url:
        loaded = bulk_load(url, events)
        lag = lag_run(url, writes, rate, "ledger")
        base = lag_run(url, writes, rate, "projection_runner")
    print(
        f"B4: {loaded:,} events, {writes} writes at {rate:.0f}/s; follower caught up in "
        f"{lag['initial_catch_up_s']:.1f} s; seen {lag['seen']}/{writes} (ledger), "
        f"{base['seen']}/{writes} (runner)",
        flush=True,
    )
    extra = {"events": loaded, "ledger": lag, "baseline": base}
    return [
        Row(
            bench="B4",
            store="postgres",
            measure=f"follower lag commit→visible p{p}, {rate:.0f} writes/s",
            ledger=lag[f"p{p}_ms"],
            baseline=base[f"p{p}_ms"],
            baseline_name="es ProjectionRunner",
            unit="ms",
            ratio=time_ratio(lag[f"p{p}_ms"], base[f"p{p}_ms"]),
            target="p99 < 50 ms" if p == 99 else "",
            met=lag["p99_ms"] < 50 if p == 99 else None,
            extra=extra,
        )
        for p in (50, 99)
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 writes on 2,000 events")
    parser.add_argument("--writes", type=int, default=None)
    parser.add_argument("--events", type=int, default=None, help="history loaded first")
    parser.add_argument("--rate", type=float, default=RATE, help="writes/s")
    args = parser.parse_args(argv)
    quiet_logging()
    rows = run(args.quick, ["postgres"], args.writes, args.rate, args.events)
    show(rows, "B4 — follower lag on PostgreSQL")
    print(f"wrote {write_rows('b4_lag', rows, ('eventsourcing', 'psycopg'), quick=args.quick)}")


if __name__ == "__main__":
    main(sys.argv[1:])
