"""B1: the command path. Per order purchase → view key → cancel (three writes, six events),
the ledger beside bare eventsourcing on the same store, in the same run, interleaved.

Baselines (see ``flows.py``): **es stateless** reloads each aggregate from the store for
every command; **es in-memory** holds the aggregates it created. Rounds alternate the three
contestants (in a rotating order), so that a change of load on the shared machine hits all
of them alike. Reported: the p50 of one whole flow, and flows per second of flow time.
structlog is left unconfigured, as an application that never set it up leaves it.

Run alone: ``.venv/bin/python benchmarks/b1_commands.py [--quick] [--stores memory sqlite
postgres] [--n N]``; prints the table and writes ``benchmarks/results/b1_commands.json``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import structlog
from common import STORES, postgres_available
from flows import EsFlows, Flow, es_flow, ledger_flow, open_ledger, stores
from suite import Row, rate_ratio, show, time_ratio, write_rows

CONTESTANTS = ("ledger", "es stateless", "es in-memory")
TARGETS = {"es stateless": 1.1, "es in-memory": 1.5}


def _percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_store(kind: str, flows: int, rounds: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per flow for each contestant, ``flows`` each, in ``rounds`` interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in CONTESTANTS}
    with stores(kind) as where:
        led = open_ledger(where.ledger_url)
        stateless = EsFlows(env=where.es_env("stateless"))
        in_memory = EsFlows(env=where.es_env("inmemory"))
        try:
            run: dict[str, Flow] = {
                "ledger": ledger_flow(led),
                "es stateless": es_flow(stateless, in_memory=False),
                "es in-memory": es_flow(in_memory, in_memory=True),
            }
            for flow in run.values():
                for _ in range(warmup):
                    flow()
            per_round = max(1, flows // rounds)
            for number in range(rounds):
                gc.collect()
                shift = number % len(CONTESTANTS)
                for name in CONTESTANTS[shift:] + CONTESTANTS[:shift]:
                    flow = run[name]
                    timings = samples[name]
                    for _ in range(per_round):
                        start = time.perf_counter()
                        flow()
                        timings.append(time.perf_counter() - start)
        finally:
            led.close()
            stateless.close()
            in_memory.close()
    return samples


def rows_for(kind: str, samples: dict[str, list[float]]) -> list[Row]:
    p50 = {name: statistics.median(s) * 1000 for name, s in samples.items()}
    rate = {name: len(s) / sum(s) for name, s in samples.items()}
    extra_common: dict[str, Any] = {
        "flows": {name: len(s) for name, s in samples.items()},
        "p95_ms": {name: _percentile(s, 0.95) * 1000 for name, s in samples.items()},
        "flows_per_s": rate,
    }
    rows = []
    for baseline, limit in TARGETS.items():
        ratio = time_ratio(p50["ledger"], p50[baseline])
        rows.append(
            Row(
                bench="B1",
                store=kind,
                measure="flow purchase→view→cancel p50",
                ledger=p50["ledger"],
                baseline=p50[baseline],
                baseline_name=baseline,
                unit="ms",
                ratio=ratio,
                target=f"≤ {limit}×",
                met=ratio <= limit,
                extra=extra_common,
            )
        )
    rows.append(
        Row(
            bench="B1",
            store=kind,
            measure="flow throughput (one writer)",
            ledger=rate["ledger"],
            baseline=rate["es stateless"],
            baseline_name="es stateless",
            unit="flows/s",
            ratio=rate_ratio(rate["ledger"], rate["es stateless"]),
            extra={"es in-memory flows/s": rate["es in-memory"]},
        )
    )
    return rows


def run(quick: bool, stores: Sequence[str], n: int | None = None) -> list[Row]:
    """B1 on each of ``stores`` (postgres is skipped, with a note, when unreachable)."""
    structlog.reset_defaults()  # the out-of-the-box state of an application
    flows = n or (60 if quick else 600)
    rounds = 12 if quick else 60  # fine interleaving: bursts of I/O from other work hit all alike
    warmup = 5 if quick else 20
    rows: list[Row] = []
    for kind in stores:
        if kind == "postgres" and (problem := postgres_available()):
            print(f"B1: skipping postgres: {problem}", file=sys.stderr)
            continue
        rows += rows_for(kind, measure_store(kind, flows, rounds, warmup))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="60 flows per contestant and store")
    parser.add_argument("--n", type=int, default=None, help="flows per contestant and store")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.quick, args.stores, args.n)
    elapsed = time.perf_counter() - started
    show(rows, f"B1 command path: purchase → view key → cancel ({elapsed:.0f} s)")
    path = write_rows(
        "b1_commands",
        rows,
        ("eventsourcing", "psycopg", "pydantic", "structlog"),
        quick=args.quick,
        elapsed_seconds=elapsed,
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
