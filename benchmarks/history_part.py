"""What the parts over a loaded history (B6, B7, B9) share: each measurement in a fresh
subprocess (so that its peak RSS is its own), the loop over the stores, and the command line
(``[--quick] [--events N] [--stores sqlite postgres]``, and ``--measure OP --url URL`` for
the subprocess)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import postgres_available, quiet_logging
from suite import Row, show, write_rows

STORES = ("sqlite", "postgres")


def in_subprocess(script: Path, operation: str, url: str) -> dict[str, Any]:
    """``script --measure operation --url url``: the JSON its last line prints."""
    output = subprocess.run(
        [sys.executable, str(script), "--measure", operation, "--url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def each_store(bench: str, stores: Sequence[str], rows_of: Callable[[str], list[Row]]) -> list[Row]:
    """The rows of every store asked for; PostgreSQL is skipped (and says why) when down."""
    rows: list[Row] = []
    for kind in stores:
        if kind not in STORES:
            continue
        if kind == "postgres" and (problem := postgres_available()):
            print(f"{bench}: PostgreSQL skipped: {problem}")
            continue
        rows += rows_of(kind)
    return rows


def runner(
    bench: str, quick_events: int, full_events: int, rows_of: Callable[[str, int], list[Row]]
) -> Callable[[bool, Sequence[str], int | None], list[Row]]:
    """A part's ``run(quick, stores, events=None)``: ``rows_of(store, events)`` for each store,
    with ``events`` from ``--events``, else the quick or the full size."""

    def run(quick: bool, stores: Sequence[str], events: int | None = None) -> list[Row]:
        count = events or (quick_events if quick else full_events)
        return each_store(bench, stores, lambda kind: rows_of(kind, count))

    return run


def main(
    argv: list[str],
    *,
    doc: str,
    quick_events: int,
    measure: Callable[[str, str], dict[str, Any]],
    run: Callable[[bool, Sequence[str], int | None], list[Row]],
    title: str,
    name: str,
) -> None:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{quick_events:,} events")
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
    show(rows, title)
    print(f"wrote {write_rows(name, rows, ('eventsourcing', 'psycopg'), quick=args.quick)}")
