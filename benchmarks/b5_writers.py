"""B5: PostgreSQL writer processes. K processes (1, 2, 4, 8) each run the command-path flow
(purchase → view key → cancel, ``flows.py``) against one shared schema for a fixed time;
reported: total flows per second and the speed-up over one process, for the ledger and,
beside it, the same number of processes running the bare-eventsourcing stateless flow, and
(in ``extra``) raw psycopg writing the same rows in the same three transactions without
eventsourcing's table lock.

Each run gets a fresh schema. The processes open their store, warm up, wait at a barrier,
then all start at one instant and stop at another; the figures count only flows completed
in that window. The machine's CPU use over the window (``/proc/stat``: every process on
it, the PostgreSQL server included) and the writers' own CPU (``resource``) are recorded
in each row's ``extra``, to show what limits the scaling.

Run alone: ``.venv/bin/python benchmarks/b5_writers.py [--quick] [--seconds S]``; prints
the table and writes ``benchmarks/results/b5_writers.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
import uuid
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier
from typing import Any

import psycopg
import structlog
from common import (
    POSTGRES_CONNINFO,
    POSTGRES_URL,
    postgres_admin,
    postgres_available,
    postgres_es_env,
)
from flows import EsFlows, es_flow, ledger_flow, open_ledger
from suite import Row, rate_ratio, show, write_rows

CONTESTANTS = ("ledger", "es stateless", "raw psycopg")
WARMUP_FLOWS = 5
TARGET_SPEEDUP = 1.8


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


RAW_TABLE = (
    "CREATE TABLE {schema}.raw_events (id BIGSERIAL PRIMARY KEY, stream UUID NOT NULL,"
    " version INT NOT NULL, topic TEXT NOT NULL, state BYTEA NOT NULL, UNIQUE (stream, version))"
)


def raw_flow(conn: psycopg.Connection[Any], schema: str) -> Any:
    """Three transactions of 2, 1 and 3 rows, as the flow writes, with no table lock.

    Shows what the database and its WAL flushes allow when writers do not serialise
    on one lock (and no notification order is kept).
    """
    insert = (
        f"INSERT INTO {schema}.raw_events (stream, version, topic, state) VALUES (%s, %s, %s, %s)"
    )
    state = b"x" * 400

    def write(rows: list[tuple[Any, ...]]) -> None:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(insert, rows)

    def flow() -> None:
        order, licence, record = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        write([(order, 1, "Purchased", state), (licence, 1, "Issued", state)])
        write([(record, 1, "KeyViewed", state)])
        write(
            [
                (order, 2, "Cancelled", state),
                (order, 3, "Credit", state),
                (licence, 2, "Revoked", state),
            ]
        )

    return flow


def writer(
    contestant: str,
    schema: str,
    barrier: Barrier,
    start_at: Any,
    seconds: float,
    results: Any,
) -> None:
    """One writer process: open, warm up, wait for the others, run flows in the window."""
    structlog.reset_defaults()
    if contestant == "ledger":
        closeable: Any = open_ledger(f"{POSTGRES_URL}?schema={schema}")
        flow = ledger_flow(closeable)
    elif contestant == "raw psycopg":
        closeable = psycopg.connect(POSTGRES_CONNINFO, autocommit=True)
        flow = raw_flow(closeable, schema)
    else:
        closeable = EsFlows(env={**postgres_es_env(schema), "CREATE_TABLE": "n"})
        flow = es_flow(closeable, in_memory=False)
    errors = 0
    try:
        for _ in range(WARMUP_FLOWS):
            flow()
        barrier.wait(timeout=120)
        while not start_at.value:  # the parent sets the start just after the barrier
            time.sleep(0.0005)
        start = start_at.value
        end = start + seconds
        while time.time() < start:
            time.sleep(0.0005)
        cpu = _cpu_seconds()
        count = 0
        while time.time() < end:
            try:
                flow()
            except Exception:  # a store fault under load: counted, not hidden
                errors += 1
                continue
            count += 1
        results.put({"flows": count, "errors": errors, "cpu": _cpu_seconds() - cpu})
    finally:
        closeable.close()


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def measure(contestant: str, processes: int, seconds: float) -> dict[str, Any]:
    """K writer processes on a fresh schema; flows/s over the common window."""
    context = multiprocessing.get_context("spawn")
    schema = f"b5_{contestant.split(maxsplit=1)[0]}_{processes}_{uuid.uuid4().hex[:6]}"
    postgres_admin(f'CREATE SCHEMA "{schema}"')
    # Create the tables once, not in K racing constructors.
    if contestant == "ledger":
        open_ledger(f"{POSTGRES_URL}?schema={schema}").close()
    elif contestant == "raw psycopg":
        postgres_admin(RAW_TABLE.format(schema=schema))
    else:
        EsFlows(env=postgres_es_env(schema)).close()
    try:
        barrier = context.Barrier(processes + 1)
        start_at = context.Value("d", 0.0)
        results = context.Queue()
        workers = [
            context.Process(
                target=writer, args=(contestant, schema, barrier, start_at, seconds, results)
            )
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        start_at.value = 0.0
        barrier.wait(timeout=180)
        start_at.value = time.time() + 0.2
        time.sleep(0.2)
        busy, total = _machine_cpu()
        time.sleep(seconds)
        busy_after, total_after = _machine_cpu()
        reports = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
    finally:
        postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    flows = sum(r["flows"] for r in reports)
    return {
        "processes": processes,
        "flows": flows,
        "flows_per_s": flows / seconds,
        "errors": sum(r["errors"] for r in reports),
        "writer_cpu_s_per_flow": sum(r["cpu"] for r in reports) / max(flows, 1),
        "machine_cpu_busy": (busy_after - busy) / max(total_after - total, 1.0),
        "cpus": os.cpu_count(),
    }


def run(quick: bool, stores: Sequence[str], seconds: float | None = None) -> list[Row]:
    """B5 (PostgreSQL only): skipped unless ``postgres`` is among ``stores``."""
    if "postgres" not in stores:
        return []
    if problem := postgres_available():
        print(f"B5: skipping postgres: {problem}", file=sys.stderr)
        return []
    counts = (1, 2) if quick else (1, 2, 4, 8)
    window = seconds or (2.0 if quick else 8.0)
    figures: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in CONTESTANTS}
    for n, processes in enumerate(counts):
        # Rotate which contestant goes first, so that drift in load hits all alike.
        shift = n % len(CONTESTANTS)
        order = CONTESTANTS[shift:] + CONTESTANTS[:shift]
        for contestant in order:
            figures[contestant][processes] = measure(contestant, processes, window)
    rows: list[Row] = []
    led, es, raw = figures["ledger"], figures["es stateless"], figures["raw psycopg"]
    for processes in counts:
        rows.append(
            Row(
                bench="B5",
                store="postgres",
                measure=f"flows/s, {processes} writer process{'es' if processes > 1 else ''}",
                ledger=led[processes]["flows_per_s"],
                baseline=es[processes]["flows_per_s"],
                baseline_name="es stateless",
                unit="flows/s",
                ratio=rate_ratio(led[processes]["flows_per_s"], es[processes]["flows_per_s"]),
                extra={
                    "seconds": window,
                    "ledger": led[processes],
                    "es stateless": es[processes],
                    "raw psycopg": raw[processes],
                    "speedup_vs_1": {
                        "ledger": led[processes]["flows_per_s"] / led[1]["flows_per_s"],
                        "es stateless": es[processes]["flows_per_s"] / es[1]["flows_per_s"],
                        "raw psycopg": raw[processes]["flows_per_s"] / raw[1]["flows_per_s"],
                    },
                },
            )
        )
    for processes in counts[1:]:
        ours = led[processes]["flows_per_s"] / led[1]["flows_per_s"]
        theirs = es[processes]["flows_per_s"] / es[1]["flows_per_s"]
        rows.append(
            Row(
                bench="B5",
                store="postgres",
                measure=f"speed-up 1→{processes} processes",
                ledger=ours,
                baseline=theirs,
                baseline_name="es stateless",
                unit="×",
                ratio=rate_ratio(ours, theirs),
                target=f"≥ {TARGET_SPEEDUP}×" if processes == 2 else "",
                met=ours >= TARGET_SPEEDUP if processes == 2 else None,
                extra={"raw psycopg": raw[processes]["flows_per_s"] / raw[1]["flows_per_s"]},
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 and 2 processes, 2 s each")
    parser.add_argument("--seconds", type=float, default=None, help="window per run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.quick, ["postgres"], args.seconds)
    elapsed = time.perf_counter() - started
    show(rows, f"B5 PostgreSQL writer processes, flow purchase → view → cancel ({elapsed:.0f} s)")
    path = write_rows(
        "b5_writers",
        rows,
        ("eventsourcing", "psycopg", "pydantic"),
        quick=args.quick,
        elapsed_seconds=elapsed,
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
