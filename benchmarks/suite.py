"""The shape every part of the benchmark suite (B1–B6) reports in, and how a run is shown.

Each part is a module ``benchmarks/bN_<name>.py`` with

    def run(quick: bool, stores: Sequence[str]) -> list[Row]

and can also run alone (``python benchmarks/bN_<name>.py [--quick]``). A `Row` holds one
figure beside its baseline from the same run, so what the suite reports are ratios.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common import RESULTS_DIR, write_report


@dataclass(frozen=True)
class Row:
    bench: str  # "B1" … "B6"
    store: str  # "memory", "sqlite", "postgres" or "-"
    measure: str  # what was timed, in words: "flow purchase→view→cancel p50"
    ledger: float  # the ledger's figure
    baseline: float  # the baseline's figure, same run, same unit
    baseline_name: str  # which baseline: "es stateless", "raw SQL", …
    unit: str  # "ms", "ops/s", "events/s", …
    #: ledger cost ÷ baseline cost: for times ledger/baseline, for rates baseline/ledger.
    ratio: float
    target: str = ""  # the target for this figure, in words ("≤ 1.1×"), or ""
    met: bool | None = None  # whether the target is met; None when there is none
    extra: dict[str, Any] = field(default_factory=dict)  # p95, RSS, sizes, notes


def time_ratio(ledger: float, baseline: float) -> float:
    return ledger / baseline if baseline else float("inf")


def rate_ratio(ledger: float, baseline: float) -> float:
    return baseline / ledger if ledger else float("inf")


def write_rows(name: str, rows: Sequence[Row], packages: tuple[str, ...], **body: Any) -> Path:
    """``benchmarks/results/<name>.json`` with the run's environment and every row."""
    path = RESULTS_DIR / f"{name}.json"
    write_report(path, name, packages, {**body, "rows": [asdict(row) for row in rows]})
    return path


def load_rows(path: Path) -> list[Row]:
    return [Row(**row) for row in json.loads(path.read_text())["rows"]]


def show(rows: Sequence[Row], title: str) -> None:
    """One table: figure, baseline, ratio and target per row."""
    from rich.console import Console  # noqa: PLC0415 - only a run that prints needs rich
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, caption="ratio = ledger cost ÷ baseline cost (>1: ledger slower)")
    for column in ("bench", "store", "measure", "ledger", "baseline", "ratio", "target"):
        table.add_column(column, justify="right" if column in ("ledger", "ratio") else "left")
    for row in rows:
        verdict = "" if row.met is None else (" ✓" if row.met else " ✗")
        table.add_row(
            row.bench,
            row.store,
            row.measure,
            f"{_figure(row.ledger)} {row.unit}",
            f"{row.baseline_name} {_figure(row.baseline)} {row.unit}",
            f"{row.ratio:.2f}×",
            row.target + verdict,
        )
    Console(width=160).print(table)


def _figure(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
