"""B7 — the integration feed read over a large log, beside bare eventsourcing reading it.

Each store (a SQLite file, a fresh PostgreSQL schema) is filled by `datasets.bulk_load`
with 1,000,000 events (``--quick``: 10,000; ``--events N``) over 10 partners, and its
views are built (untimed). Then, each in a fresh subprocess:

* ``feed``: every partner's billing user reads its whole feed with ``led.feed``, pages of
  1,000 items, cursor to cursor (every event but a licence's issue is an item);
* baseline: bare eventsourcing reading the same notification log
  (``recorder.select_notifications``, 500 at a time, decoding nothing).

Figures: items/s beside the baseline's events/s; ratio = baseline rate ÷ ledger rate.
The issue's goal: the feed at ≥ 0.5 of the bare read (ratio ≤ 2).

Run alone: ``.venv/bin/python benchmarks/b7_feed.py [--quick] [--events N]
[--stores sqlite postgres]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import history_part
from common import quiet_logging
from datasets import PARTNERS, SECRET, bulk_load, es_read_log, store
from suite import Row, rate_ratio

from ledger import Actor, Ledger, Role

HERE = Path(__file__).resolve()
QUICK_EVENTS = 10_000
FULL_EVENTS = 1_000_000
PAGE = 1000


def read_feeds(url: str) -> int:
    """Every partner's whole feed, a page at a time; returns how many items."""
    items = 0
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        for partner_id in PARTNERS:
            billing = Actor(user="billing", roles={Role.ACCOUNT_ADMIN}, partner_id=partner_id)
            after = None
            while (page := led.feed(billing, after=after, limit=PAGE)).items:
                items += len(page.items)
                after = page.next_cursor
    return items


def measure(operation: str, url: str) -> dict[str, Any]:
    quiet_logging()
    started = time.perf_counter()
    count = es_read_log(url) if operation == "baseline" else read_feeds(url)
    elapsed = time.perf_counter() - started
    return {"count": count, "seconds": elapsed, "per_s": count / elapsed if elapsed else 0.0}


def measure_store(kind: str, events: int) -> Row:
    with store(kind) as url:
        loaded = bulk_load(url, events)
        with Ledger.open(url, secret_key=SECRET, views="follower") as led:
            led.catch_up()
        baseline = history_part.in_subprocess(HERE, "baseline", url)
        feed = history_part.in_subprocess(HERE, "feed", url)
        print(f"B7 {kind}: {feed['count']:,} items at {feed['per_s']:,.0f}/s", flush=True)
        ratio = rate_ratio(feed["per_s"], baseline["per_s"])
        return Row(
            bench="B7",
            store=kind,
            measure=f"feed read of every partner, {loaded:,} events",
            ledger=feed["per_s"],
            baseline=baseline["per_s"],
            baseline_name="es read log",
            unit="items/s",
            ratio=ratio,
            target="≤ 2×",
            met=ratio <= 2,
            extra={
                "items": feed["count"],
                "events": loaded,
                "seconds": feed["seconds"],
                "baseline_seconds": baseline["seconds"],
            },
        )


run = history_part.runner(
    "B7", QUICK_EVENTS, FULL_EVENTS, lambda kind, count: [measure_store(kind, count)]
)


if __name__ == "__main__":
    history_part.main(
        sys.argv[1:],
        doc=__doc__,
        quick_events=QUICK_EVENTS,
        measure=measure,
        run=run,
        title="B7 — the integration feed (items/s beside the bare read's events/s)",
        name="b7_feed",
    )
