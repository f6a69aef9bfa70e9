"""B9 — what-if over a large history: orders/s and peak RSS beside ``audit.rebuild()``.

Each store (a SQLite file, a fresh PostgreSQL schema) is filled by `datasets.bulk_load`
with 1,000,000 events, about 65,000 orders (``--quick``: 10,000 events; ``--events N``).
Then, each in a fresh subprocess so that its peak RSS is its own:

* ``what_if``: ``led.audit.what_if(support, CANDIDATE)`` over the whole history. The
  candidate (7 days for every kind, half of R8's credit) changes every order's
  deadline and every cancellation's credit, so every row is worked out in full;
* ``rebuild``: ``audit.rebuild()`` on the same data, after a follower's catch-up made
  the live views it compares with (the issue's yardstick: no slower than this);
* baseline: bare eventsourcing reading the same notification log
  (``recorder.select_notifications``, 500 at a time, decoding nothing).

Figures: orders/s and events/s of the log; ratio = the yardstick's rate ÷ what-if's
(below 1: what-if is faster). Run alone: ``.venv/bin/python benchmarks/b9_what_if.py
[--quick] [--events N] [--stores sqlite postgres]``.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import history_part
from common import quiet_logging
from datasets import SECRET, bulk_load, es_read_log, store
from suite import Row, rate_ratio

from ledger import Actor, CancellationPolicy, Ledger, Money, OrderTerms, ProductKind, Role

HERE = Path(__file__).resolve()
QUICK_EVENTS = 10_000
FULL_EVENTS = 1_000_000
SUPPORT = Actor(user="sam", roles={Role.SUPPORT})


@dataclass(frozen=True)
class HalfCreditWeek(CancellationPolicy):
    """The candidate: a 7-day window for every kind and half of R8's credit."""

    def credit(self, terms: OrderTerms, now: datetime) -> Money:  # type: ignore[override]
        return super().credit(terms, now).prorate(1, 2)


CANDIDATE = HalfCreditWeek(
    {kind: timedelta(days=7) for kind in (ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION)},
    policy_id="bench-half-week",
)


def measure(operation: str, url: str) -> dict[str, Any]:
    """Run one operation; its counts, seconds and this process's peak RSS."""
    quiet_logging()
    started = time.perf_counter()
    orders = 0
    if operation == "baseline":
        events = es_read_log(url)
    else:
        with Ledger.open(url, secret_key=SECRET, views="follower") as led:
            events = int(led._uow.events.recorder.max_notification_id() or 0)
            if operation == "catch_up":
                led.catch_up()
            elif operation == "rebuild":
                report = led.audit.rebuild()
                assert report.matches, report.differences[:3]
                orders = report.rows["ledger_software"]
            elif operation == "what_if":
                what_if = led.audit.what_if(SUPPORT, CANDIDATE)
                orders = len(what_if.rows)
                assert what_if.changes["credit_changed"] + what_if.changes["deadline_changed"]
            else:
                raise SystemExit(f"unknown operation {operation}")
    elapsed = time.perf_counter() - started
    return {
        "events": events,
        "orders": orders,
        "seconds": elapsed,
        "events_per_s": events / elapsed if elapsed else 0.0,
        "orders_per_s": orders / elapsed if elapsed else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_store(kind: str, events: int) -> dict[str, Any]:
    with store(kind) as url:
        loaded = bulk_load(url, events)
        print(f"B9 {kind}: loaded {loaded:,} events", flush=True)
        figures = {
            name: history_part.in_subprocess(HERE, name, url) for name in ("baseline", "catch_up")
        }
        for name in ("rebuild", "what_if"):
            figures[name] = history_part.in_subprocess(HERE, name, url)
            print(f"B9 {kind}: {name} {figures[name]['orders_per_s']:,.0f} orders/s", flush=True)
        return figures


def rows_for(kind: str, figures: dict[str, Any]) -> list[Row]:
    what_if, rebuild, base = figures["what_if"], figures["rebuild"], figures["baseline"]
    extra = {
        "what_if": what_if,
        "rebuild": rebuild,
        "baseline": base,
        "what_if_peak_rss_mb": what_if["peak_rss_mb"],
        "rebuild_peak_rss_mb": rebuild["peak_rss_mb"],
    }
    size = f"{what_if['orders']:,} orders, {what_if['events']:,} events"
    return [
        Row(
            bench="B9",
            store=kind,
            measure=f"what_if over {size} (peak {what_if['peak_rss_mb']:.0f} MB)",
            ledger=what_if["orders_per_s"],
            baseline=rebuild["orders_per_s"],
            baseline_name="audit.rebuild()",
            unit="orders/s",
            ratio=rate_ratio(what_if["orders_per_s"], rebuild["orders_per_s"]),
            target="≤ 1× rebuild, < 200 MB",
            met=what_if["orders_per_s"] >= rebuild["orders_per_s"] and what_if["peak_rss_mb"] < 200,
            extra=extra,
        ),
        Row(
            bench="B9",
            store=kind,
            measure=f"what_if over {size}, as events of the log read",
            ledger=what_if["events_per_s"],
            baseline=base["events_per_s"],
            baseline_name="es read log",
            unit="events/s",
            ratio=rate_ratio(what_if["events_per_s"], base["events_per_s"]),
            extra=extra,
        ),
    ]


run = history_part.runner(
    "B9", QUICK_EVENTS, FULL_EVENTS, lambda kind, count: rows_for(kind, measure_store(kind, count))
)


if __name__ == "__main__":
    history_part.main(
        sys.argv[1:],
        doc=__doc__,
        quick_events=QUICK_EVENTS,
        measure=measure,
        run=run,
        title="B9 — what-if over the history (orders/s; peak RSS in the JSON)",
        name="b9_what_if",
    )
