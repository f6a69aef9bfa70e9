"""B8 — webhook delivery: commit → 2xx latency, throughput, and a dead endpoint beside live ones.

On each store (a SQLite file, a fresh PostgreSQL schema), with a real HTTP receiver on
127.0.0.1 that answers 204 at once and a `ledger.webhooks.Deliverer` in this process
(``poll_interval`` 0.05 s, its other defaults):

* latency: purchases at 100 writes/s for 5 s (``--quick``: 2 s), after half a second of
  warm-up; for each, the time from the purchase's return (committed) to its
  ``order.purchased`` item reaching the receiver; p50 and p99. Baseline: the same body
  POSTed with httpx straight after each commit, in the same run (no ledger in between).
* throughput: 2,000 items (``--quick``: 300) already recorded, delivered to one endpoint;
  items/s. Baseline: httpx POSTing as many bodies one after another.
* a dead endpoint (a port that refuses) registered beside the live one: the live
  endpoint's p99 again (a second after the dead one was added), against its p99 without it.
  The raw baselines run last, with no deliverer running.

Targets (the issue's): p99 < 200 ms; the live endpoint's p99 unchanged by a dead one.

Run alone: ``.venv/bin/python benchmarks/b8_webhooks.py [--quick] [--stores sqlite postgres]``.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import httpx
from common import postgres_available, quiet_logging
from datasets import OFFICE, SECRET, percentile, store
from suite import Row, rate_ratio, show, time_ratio, write_rows

from ledger import Actor, Customer, Ledger, Money, Role
from ledger.projections.feed import item_id
from ledger.webhooks import Deliverer

STORES = ("sqlite", "postgres")
RATE = 100
AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
BILLING = Actor(user="bill", roles={Role.ACCOUNT_ADMIN}, partner_id="P1")
TENANT = UUID("00000000-0000-4000-8000-0000000000b8")
PRICE = Money("249.00", "EUR")


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    def wait_for(self, ids: Sequence[str], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(each in self.at for each in ids):
                    return
            time.sleep(0.01)
        raise TimeoutError(f"{sum(each in self.at for each in ids)} of {len(ids)} arrived")


@contextmanager
def receiver() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with arrivals.lock:
                arrivals.at.setdefault(self.headers.get("webhook-id", ""), time.perf_counter())
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", arrivals
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def delivering(url: str) -> Iterator[None]:
    deliverer = Deliverer(url, secret_key=SECRET, poll_interval=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, kwargs={"until": stop})
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def paced_purchases(led: Ledger, seconds: float, after: Any = None) -> dict[str, float]:
    """Purchases at `RATE` per second; each one's item id → when it committed."""
    committed: dict[str, float] = {}
    started = time.perf_counter()
    for n in range(int(seconds * RATE)):
        pause = started + n / RATE - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        order_id = led.purchase(AGENT, TENANT, OFFICE, 1, PRICE)
        committed[item_id(order_id, 1)] = time.perf_counter()
        if after is not None:
            after(order_id)
    return committed


def buy(led: Ledger) -> str:
    return item_id(led.purchase(AGENT, TENANT, OFFICE, 1, PRICE), 1)


def latencies(committed: dict[str, float], arrivals: Arrivals) -> list[float]:
    arrivals.wait_for(list(committed))
    return [(arrivals.at[each] - at) * 1000 for each, at in committed.items()]


def raw_latencies(led: Ledger, url: str, seconds: float) -> list[float]:
    """Baseline: the same POST straight after each commit, no ledger between."""
    samples: list[float] = []
    with httpx.Client() as client:

        def post(order_id: UUID) -> None:
            started = time.perf_counter()
            client.post(url, content=b'{"id":"%s"}' % str(order_id).encode())
            samples.append((time.perf_counter() - started) * 1000)

        paced_purchases(led, seconds, after=post)
    return samples


def measure_store(kind: str, quick: bool) -> list[Row]:
    seconds, backlog = (2.0, 300) if quick else (5.0, 2000)
    rows: list[Row] = []
    with (
        store(kind) as url,
        receiver() as (hook_url, arrivals),
        Ledger.open(url, secret_key=SECRET) as led,
    ):
        led.add_customer(AGENT, Customer(TENANT, "contoso.example", "Contoso", "NL"))
        led.add_webhook(BILLING, hook_url, types=["order.purchased"])
        with delivering(url):
            latencies(paced_purchases(led, 0.5), arrivals)  # warm: the deliverer is at work
            alone = latencies(paced_purchases(led, seconds), arrivals)
        ids = [buy(led) for _ in range(backlog)]
        started = time.perf_counter()
        with delivering(url):
            arrivals.wait_for(ids)
            rate = backlog / (time.perf_counter() - started)
            with socket.socket() as closed:
                closed.bind(("127.0.0.1", 0))
                dead = f"http://127.0.0.1:{closed.getsockname()[1]}/dead"
            led.add_webhook(BILLING, dead)
            time.sleep(1.0)  # the dead endpoint is retried by now
            beside_dead = latencies(paced_purchases(led, seconds), arrivals)
        raw = raw_latencies(led, hook_url + "-raw", seconds)
        raw_rate = raw_post_rate(hook_url + "-raw", backlog)
    for q in (50, 99):
        rows.append(
            Row(
                bench="B8",
                store=kind,
                measure=f"commit → 2xx p{q}, {RATE} writes/s",
                ledger=percentile(alone, q),
                baseline=percentile(raw, q),
                baseline_name="raw httpx POST",
                unit="ms",
                ratio=time_ratio(percentile(alone, q), percentile(raw, q)),
                target="p99 < 200 ms" if q == 99 else "",
                met=percentile(alone, 99) < 200 if q == 99 else None,
                extra={"samples": len(alone)},
            )
        )
    rows.append(
        Row(
            bench="B8",
            store=kind,
            measure=f"items/s to one endpoint, {backlog:,} waiting",
            ledger=rate,
            baseline=raw_rate,
            baseline_name="raw httpx POSTs",
            unit="items/s",
            ratio=rate_ratio(rate, raw_rate),
        )
    )
    p99_alone, p99_dead = percentile(alone, 99), percentile(beside_dead, 99)
    rows.append(
        Row(
            bench="B8",
            store=kind,
            measure="live endpoint p99 with a dead one beside it",
            ledger=p99_dead,
            baseline=p99_alone,
            baseline_name="its p99 alone",
            unit="ms",
            ratio=time_ratio(p99_dead, p99_alone),
            target="unchanged (≤ 1.5×)",
            met=p99_dead <= 1.5 * p99_alone,
            extra={"samples": len(beside_dead)},
        )
    )
    return rows


def raw_post_rate(url: str, count: int) -> float:
    with httpx.Client() as client:
        started = time.perf_counter()
        for n in range(count):
            client.post(url, content=b'{"n":%d}' % n)
        return count / (time.perf_counter() - started)


def run(quick: bool, stores: Sequence[str]) -> list[Row]:
    rows: list[Row] = []
    for kind in stores:
        if kind not in STORES:
            continue
        if kind == "postgres" and (problem := postgres_available()):
            print(f"B8: PostgreSQL skipped: {problem}")
            continue
        rows += measure_store(kind, quick)
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    args = parser.parse_args(argv)
    quiet_logging()
    rows = run(args.quick, args.stores)
    show(rows, "B8 — webhook delivery")
    print(f"wrote {write_rows('b8_webhooks', rows, ('eventsourcing', 'httpx'), quick=args.quick)}")


if __name__ == "__main__":
    main(sys.argv[1:])
