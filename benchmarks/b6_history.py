"""B6 — history at scale: rebuild, rebuild_views, verify and export of a large event log.

Each store (a SQLite file, a fresh PostgreSQL schema) is filled by `datasets.bulk_load`
with 1,000,000 events (``--quick``: 10,000; ``--events N`` to choose). Then, each in a
fresh subprocess so that its peak RSS is its own:

* ``catch_up``: a follower building the live views from position 0 (this also makes the
  live views that ``audit.rebuild()`` compares with);
* ``audit.rebuild()`` (replay into scratch views + ordered merge with the live views),
  ``rebuild_views()``, ``audit.verify()`` and ``audit.export_events()`` (JSON lines);
* baseline: bare eventsourcing reading the same notification log
  (``recorder.select_notifications``, 500 at a time, decoding nothing): the floor for
  anything that reads the whole history.

Figures: events/s and peak RSS; ratio = baseline events/s ÷ ledger events/s.

Run alone: ``.venv/bin/python benchmarks/b6_history.py [--quick] [--events N]
[--stores sqlite postgres]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import postgres_available, quiet_logging
from datasets import SECRET, bulk_load, es_read_log, store
from suite import Row, rate_ratio, show, write_rows

from ledger import Ledger

HERE = Path(__file__).resolve()
STORES = ("sqlite", "postgres")
QUICK_EVENTS = 10_000
FULL_EVENTS = 1_000_000
OPERATIONS = ("catch_up", "rebuild", "rebuild_views", "verify", "export")
#: The issue's goals (events/s, peak RSS) where it set one.
GOALS: dict[str, tuple[str, float, float | None]] = {
    "rebuild": ("≥100k ev/s, <200 MB", 100_000, 200),
    "verify": ("≥200k ev/s", 200_000, None),
    "export": ("≥100k ev/s", 100_000, None),
}
MEASURES = {
    "catch_up": "follower catch-up from 0",
    "rebuild": "audit.rebuild()",
    "rebuild_views": "rebuild_views()",
    "verify": "audit.verify()",
    "export": "audit.export_events()",
}


# -- one measurement, in its own process ------------------------------------------------------


def measure(operation: str, url: str) -> dict[str, Any]:
    """Run one operation; its rate and this process's peak RSS."""
    quiet_logging()
    started = time.perf_counter()
    count = es_read_log(url) if operation == "baseline" else _ledger_operation(operation, url)
    elapsed = time.perf_counter() - started
    return {
        "events": count,
        "seconds": elapsed,
        "events_per_s": count / elapsed if elapsed else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


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


def in_subprocess(operation: str, url: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, str(HERE), "--measure", operation, "--url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


# -- the part -----------------------------------------------------------------------------------


def measure_store(kind: str, events: int) -> dict[str, Any]:
    with store(kind) as url:
        started = time.perf_counter()
        loaded = bulk_load(url, events)
        load_s = time.perf_counter() - started
        print(f"B6 {kind}: loaded {loaded:,} events in {load_s:.1f} s", flush=True)
        figures: dict[str, Any] = {"events": loaded, "load_s": load_s}
        figures["baseline"] = in_subprocess("baseline", url)
        for operation in OPERATIONS:  # catch_up first: it builds the live views
            figures[operation] = in_subprocess(operation, url)
            print(
                f"B6 {kind}: {operation} {figures[operation]['events_per_s']:,.0f} events/s",
                flush=True,
            )
        return figures


def rows_for(kind: str, figures: dict[str, Any]) -> list[Row]:
    base = figures["baseline"]
    rows = []
    for operation in OPERATIONS:
        f = figures[operation]
        target, rate_goal, rss_goal = GOALS.get(operation, ("", 0.0, None))
        met = None
        if target:
            met = f["events_per_s"] >= rate_goal and (
                rss_goal is None or f["peak_rss_mb"] < rss_goal
            )
        rows.append(
            Row(
                bench="B6",
                store=kind,
                measure=f"{MEASURES[operation]}, {figures['events']:,} events",
                ledger=f["events_per_s"],
                baseline=base["events_per_s"],
                baseline_name="es read log",
                unit="events/s",
                ratio=rate_ratio(f["events_per_s"], base["events_per_s"]),
                target=target,
                met=met,
                extra={
                    "peak_rss_mb": f["peak_rss_mb"],
                    "baseline_peak_rss_mb": base["peak_rss_mb"],
                    "seconds": f["seconds"],
                    "baseline_seconds": base["seconds"],
                    "events": figures["events"],
                    "load_s": figures["load_s"],
                },
            )
        )
    return rows


def run(quick: bool, stores: Sequence[str], events: int | None = None) -> list[Row]:
    events = events or (QUICK_EVENTS if quick else FULL_EVENTS)
    rows: list[Row] = []
    for kind in stores:
        if kind not in STORES:
            continue
        if kind == "postgres" and (problem := postgres_available()):
            print(f"B6: PostgreSQL skipped: {problem}")
            continue
        rows += rows_for(kind, measure_store(kind, events))
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.url)))
        return
    quiet_logging()
    rows = run(args.quick, args.stores, args.events)
    show(rows, "B6 — history at scale (events/s; peak RSS in the JSON)")
    print(f"wrote {write_rows('b6_history', rows, ('eventsourcing', 'psycopg'), quick=args.quick)}")


if __name__ == "__main__":
    main(sys.argv[1:])
