"""B6 — history at scale: rebuild, rebuild_views, verify and export of a large event log.

Each store (a SQLite file, a fresh PostgreSQL schema) is filled by `datasets.bulk_load`
with 1,000,000 events (``--quick``: 10,000; ``--events N`` to choose). Then, each in a
fresh subprocess so that its peak RSS is its own:

* ``catch_up``: a follower building the live views from position 0 (this also makes the
  live views that ``audit.rebuild()`` compares with);
* ``audit.rebuild()`` (replay into scratch views + ordered merge with the live views),
  ``rebuild_views()``, ``audit.verify()`` and ``audit.export_events()`` (JSON lines);
* an inclusion proof of one order (``prove``): its size and ``verify_proof`` time
  against bare eventsourcing reading that order's events;
* one customer's views at a past instant (``as_of_tenant``): ``audit.as_of(instant,
  tenant_id=)`` with its software list and activity log, median of 5, beside the
  whole-log ``audit.as_of(instant)`` once and bare eventsourcing reading the customer's
  order streams;
* baseline: bare eventsourcing reading the same notification log
  (``recorder.select_notifications``, 500 at a time, decoding nothing): the floor for
  anything that reads the whole history.

Figures: events/s and peak RSS; ratio = baseline events/s ÷ ledger events/s.

Run alone: ``.venv/bin/python benchmarks/b6_history.py [--quick] [--events N]
[--stores sqlite postgres]``.
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import history_part
from common import quiet_logging
from datasets import SECRET, START, Baseline, bulk_load, es_env, es_read_log, store
from suite import Row, rate_ratio, time_ratio

from ledger import Ledger
from ledger.audit import verify_proof

HERE = Path(__file__).resolve()
QUICK_EVENTS = 10_000
FULL_EVENTS = 1_000_000
OPERATIONS = ("catch_up", "rebuild", "rebuild_views", "verify_events", "verify", "export")
#: The issue's goals (events/s, peak RSS) where it set one.
GOALS: dict[str, tuple[str, float, float | None]] = {
    "rebuild": ("≥100k ev/s, <200 MB", 100_000, 200),
    "verify_events": ("≥200k ev/s", 200_000, None),
    "export": ("≥100k ev/s", 100_000, None),
}
MEASURES = {
    "catch_up": "follower catch-up from 0",
    "rebuild": "audit.rebuild()",
    "rebuild_views": "rebuild_views()",
    "verify_events": "audit.verify(views=False): seals, chain, Merkle tree, digests",
    "verify": "audit.verify(): that + key table + every view row",
    "export": "audit.export_events()",
}


# -- one measurement, in its own process ------------------------------------------------------


def measure(operation: str, url: str) -> dict[str, Any]:
    """Run one operation; its rate and this process's peak RSS."""
    quiet_logging()
    if operation == "prove":
        return measure_proof(url)
    if operation == "as_of_tenant":
        return measure_as_of_tenant(url)
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
        elif operation == "verify_events":
            assert led.audit.verify(views=False).ok
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


PROOF_REPEATS = 50


def measure_proof(url: str) -> dict[str, Any]:
    """An inclusion proof of one order (halfway through the log) at this history's size:
    its JSON size, hashes, the time to make it and to check it offline (median of 50),
    beside bare eventsourcing reading that order's events."""
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        recorder = led._uow.events.recorder
        middle = (recorder.max_notification_id() or 0) // 2
        purchased = recorder.select_notifications(
            start=middle, limit=1, topics=["ledger:Order.Purchased.v1"]
        )[0]
        order = purchased.originator_id
        made = []
        for _ in range(5):
            started = time.perf_counter()
            proof = led.audit.prove(order)
            made.append(time.perf_counter() - started)
        public_key = led.audit.public_key()
    text = proof.to_json()
    checks = []
    for _ in range(PROOF_REPEATS):
        started = time.perf_counter()
        assert verify_proof(text, public_key=public_key).ok
        checks.append(time.perf_counter() - started)
    base = Baseline(env=es_env(url))
    reads = []
    for _ in range(PROOF_REPEATS):
        started = time.perf_counter()
        base.recorder.select_events(order)
        reads.append(time.perf_counter() - started)
    base.close()
    return {
        "events": len(proof.events),
        "tree_size": proof.digest.tree_size,
        "proof_bytes": len(text.encode()),
        "hashes": sum(len(event.path) for event in proof.events),
        "prove_ms": statistics.median(made) * 1000,
        "verify_ms": statistics.median(checks) * 1000,
        "baseline_read_ms": statistics.median(reads) * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_as_of_tenant(url: str) -> dict[str, Any]:
    """One customer's views 30 days into the history (the customer of the order halfway
    through the log), against the whole-log replay and bare eventsourcing reading the
    customer's orders."""
    instant = START + timedelta(days=30)
    with Ledger.open(url, secret_key=SECRET, views="follower") as led:
        recorder = led._uow.events.recorder
        middle = (recorder.max_notification_id() or 0) // 2
        order = recorder.select_notifications(
            start=middle, limit=1, topics=["ledger:Order.Purchased.v1"]
        )[0].originator_id
        views = led._views
        owner = views.query(
            "SELECT tenant_id, partner_id FROM {ledger_software} WHERE order_id = ?",
            (str(order),),
        )[0]
        tenant, partner = UUID(owner["tenant_id"]), str(owner["partner_id"])
        orders = [
            UUID(row["order_id"])
            for row in views.query(
                "SELECT order_id FROM {ledger_software} WHERE tenant_id = ?", (str(tenant),)
            )
        ]
        window = (START.date(), (START + timedelta(days=60)).date())
        times = []
        for _ in range(5):
            started = time.perf_counter()
            with led.audit.as_of(instant, tenant_id=tenant) as one:
                software = one.software(tenant)
                activity = one.activity_log(partner, *window)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        with led.audit.as_of(instant) as everyone:
            assert everyone.software(tenant) == software
            assert everyone.activity_log(partner, *window, tenant_id=tenant) == (activity)
        whole_s = time.perf_counter() - started
    base = Baseline(env=es_env(url))
    reads = []
    for _ in range(5):
        started = time.perf_counter()
        for stream in orders:
            base.recorder.select_events(stream)
        reads.append(time.perf_counter() - started)
    base.close()
    return {
        "orders": len(orders),
        "software_rows": len(software),
        "activity_rows": len(activity),
        "tenant_s": statistics.median(times),
        "tenant_max_s": max(times),
        "whole_log_s": whole_s,
        "baseline_read_s": statistics.median(reads),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# -- the part -----------------------------------------------------------------------------------


def measure_store(kind: str, events: int) -> dict[str, Any]:
    with store(kind) as url:
        started = time.perf_counter()
        loaded = bulk_load(url, events)
        load_s = time.perf_counter() - started
        print(f"B6 {kind}: loaded {loaded:,} events in {load_s:.1f} s", flush=True)
        figures: dict[str, Any] = {"events": loaded, "load_s": load_s}
        figures["baseline"] = history_part.in_subprocess(HERE, "baseline", url)
        for operation in OPERATIONS:  # catch_up first: it builds the live views
            figures[operation] = history_part.in_subprocess(HERE, operation, url)
            print(
                f"B6 {kind}: {operation} {figures[operation]['events_per_s']:,.0f} events/s",
                flush=True,
            )
        figures["prove"] = history_part.in_subprocess(HERE, "prove", url)
        figures["as_of_tenant"] = history_part.in_subprocess(HERE, "as_of_tenant", url)
        print(f"B6 {kind}: as_of_tenant {figures['as_of_tenant']}", flush=True)
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
    proof = figures["prove"]
    rows.append(
        Row(
            bench="B6",
            store=kind,
            measure=(
                f"verify_proof of one order ({proof['events']} events, {proof['hashes']} hashes,"
                f" {proof['proof_bytes']:,} B JSON) at {proof['tree_size']:,} events"
            ),
            ledger=proof["verify_ms"],
            baseline=proof["baseline_read_ms"],
            baseline_name="es read the order's events",
            unit="ms",
            ratio=time_ratio(proof["verify_ms"], proof["baseline_read_ms"]),
            target="< 5 ms, < 2 KB",
            met=proof["verify_ms"] < 5 and proof["proof_bytes"] < 2048,
            extra=proof,
        )
    )
    then = figures["as_of_tenant"]
    rows.append(
        Row(
            bench="B6",
            store=kind,
            measure=(
                f"audit.as_of(tenant_id=) + software + activity, one customer ({then['orders']}"
                f" orders, {then['activity_rows']} entries) at {figures['events']:,} events;"
                f" whole-log as_of {then['whole_log_s']:.1f} s"
            ),
            ledger=then["tenant_s"],
            baseline=then["baseline_read_s"],
            baseline_name="es read the customer's orders",
            unit="s",
            ratio=time_ratio(then["tenant_s"], then["baseline_read_s"]),
            target="≤ 2 s",
            met=then["tenant_max_s"] <= 2,
            extra=then,
        )
    )
    return rows


run = history_part.runner(
    "B6", QUICK_EVENTS, FULL_EVENTS, lambda kind, count: rows_for(kind, measure_store(kind, count))
)


if __name__ == "__main__":
    history_part.main(
        sys.argv[1:],
        doc=__doc__,
        quick_events=QUICK_EVENTS,
        measure=measure,
        run=run,
        title="B6 — history at scale (events/s; peak RSS in the JSON)",
        name="b6_history",
    )
