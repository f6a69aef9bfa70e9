"""The benchmark suite's one entry point: B1–B8 (and the extra part SM), one table, JSON.

    .venv/bin/python benchmarks/run.py [--quick] [--only B2 B4 ...] [--stores sqlite ...]

Parts are the modules ``benchmarks/<module>.py`` named in `PARTS`, each with
``run(quick, stores) -> list[Row]`` (see `suite.py`). A part whose module is not there is
skipped with a notice; a part that raises is reported, the others still run, and the
suite exits with status 1. Nothing here judges speed: a target missed is a ✗ in the
table, not a failure.

Writes ``benchmarks/results/<quick|full>.json`` (every row, the machine, the parts' times)
and ``benchmarks/results/<quick|full>-<module>.json`` per part; with ``--only`` the
combined file is ``<mode>-B2-B4.json`` and so on. A full run also copies the combined
file into ``benchmarks/results/full/``, which is committed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import shutil
import sqlite3
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from common import POSTGRES_CONNINFO, RESULTS_DIR, STORES, quiet_logging
from rich.console import Console
from rich.table import Table
from suite import Row, show, write_rows

#: part → module; SM runs only when asked for (``--only SM``) or in a full run.
PARTS = {
    "B1": "b1_commands",
    "B2": "b2_access",
    "B3": "b3_queries",
    "B4": "b4_lag",
    "B5": "b5_writers",
    "B6": "b6_history",
    "B7": "b7_feed",
    "B8": "b8_webhooks",
    "B9": "b9_what_if",
    "SM": "bench_state_machine",
}
EXTRA_PARTS = ("SM",)
PACKAGES = ("eventsourcing", "psycopg", "pydantic", "structlog", "cryptography", "rich")
console = Console(width=160)


def machine(when: str) -> dict[str, Any]:
    """What the figures were measured on; the load average is taken ``when``."""
    load = os.getloadavg()
    return {
        f"load_average_{when}": [round(x, 2) for x in load],
        f"at_{when}": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def machine_static() -> dict[str, Any]:
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    try:
        with psycopg.connect(POSTGRES_CONNINFO, connect_timeout=5) as conn:
            postgres = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        postgres = "unavailable"
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
    }


def run_part(part: str, quick: bool, stores: list[str]) -> tuple[str, list[Row], str]:
    """(status, rows, detail): status is ok, missing or failed."""
    module_name = PARTS[part]
    if importlib.util.find_spec(module_name) is None:
        return "missing", [], f"benchmarks/{module_name}.py is not there"
    try:
        module = importlib.import_module(module_name)
        rows = list(module.run(quick, stores))
    except Exception:  # one part's failure is reported; the others still run
        return "failed", [], traceback.format_exc()
    return "ok", rows, ""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smoke run: under 2 minutes")
    parser.add_argument(
        "--only", nargs="+", choices=list(PARTS), type=str.upper, help="these parts only"
    )
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    args = parser.parse_args(argv)
    quiet_logging()
    mode = "quick" if args.quick else "full"
    if args.only:
        parts = [part for part in PARTS if part in args.only]
    else:
        parts = [part for part in PARTS if part not in EXTRA_PARTS or not args.quick]
    name = mode if not args.only else "-".join([mode, *parts])

    static = machine_static()
    before = machine("before")
    console.print(
        f"[bold]benchmark suite, {mode}[/]: {', '.join(parts)} on {', '.join(args.stores)} — "
        f"{before['at_before']}, {static['cores']} cores, {static['ram_gb']} GB RAM, load "
        f"{' '.join(str(x) for x in before['load_average_before'])}; Python "
        f"{static['python']}, SQLite {static['sqlite']}, PostgreSQL {static['postgresql']}"
    )
    started = time.perf_counter()
    rows: list[Row] = []
    report: dict[str, dict[str, Any]] = {}
    for part in parts:
        console.print(f"[dim]{part} ({PARTS[part]}) …[/]")
        part_started = time.perf_counter()
        status, part_rows, detail = run_part(part, args.quick, list(args.stores))
        seconds = time.perf_counter() - part_started
        report[part] = {"module": PARTS[part], "status": status, "seconds": round(seconds, 1)}
        if status == "missing":
            console.print(f"[yellow]{part} skipped[/]: {detail}")
        elif status == "failed":
            console.print(f"[red]{part} failed[/] after {seconds:.0f} s:\n{detail}")
            report[part]["error"] = detail
        else:
            write_rows(f"{mode}-{PARTS[part]}", part_rows, PACKAGES, quick=args.quick)
            console.print(f"[dim]{part}: {len(part_rows)} rows in {seconds:.1f} s[/]")
        rows += part_rows
    elapsed = time.perf_counter() - started
    after = machine("after")

    show(rows, f"benchmark suite, {mode} — {before['at_before']} ({elapsed:.0f} s)")
    summary = Table(title="parts")
    for column in ("part", "module", "status", "seconds"):
        summary.add_column(column)
    for part, info in report.items():
        summary.add_row(part, info["module"], info["status"], f"{info['seconds']:.1f}")
    console.print(summary)
    console.print(
        f"load average before {before['load_average_before']}, after "
        f"{after['load_average_after']}; {elapsed:.0f} s in all"
    )
    path = write_rows(
        name,
        rows,
        PACKAGES,
        quick=args.quick,
        stores=list(args.stores),
        seconds=round(elapsed, 1),
        machine={**static, **before, **after},
        parts=report,
    )
    console.print(f"wrote {path} and one file per part beside it")
    if not args.quick:
        kept = RESULTS_DIR / "full" / path.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, kept)
        console.print(f"kept {kept} (committed)")
    return 1 if any(info["status"] == "failed" for info in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
