"""The property-testing tool `ledger.testing.LedgerStateMachine` against its own baselines.

Per store, in the same process and the same run, with the fixed seed ``DEFAULT_SEED``:

* ``full``          – ``ledger.testing.run(Machine, steps=N, steps_per_example=50)``: hypothesis
  generates the commands, the ledger and the reference model run each one, every view is
  compared with the model after every step and with a rebuild of the views.
* ``no rebuild``    – the same with ``rebuild_views = False``.
* ``commands only`` – the exact commands ``full`` executed, example by example, replayed with
  `ledger.testing.driver.Driver` on a fresh ledger per example: no hypothesis, no model, no
  checks. The ledger alone.
* ``bare es``       – a bare ``eventsourcing`` application on a fresh store per example,
  writing one one-event ``Aggregate`` per command of that example that wrote to the ledger.
  The storage floor.

Every contestant runs the same examples, each on a fresh store, end to end (opening and
removing the store included, as ``run`` does), so the ratios are ratios of total time:
``full ÷ commands only`` is what the checking costs, ``commands only ÷ bare es`` what the
ledger costs over its storage.

Run: ``.venv/bin/python benchmarks/bench_state_machine.py [--steps N] [--pg-steps N]
[--stores ...]``. Speed is only ever measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from common import (
    POSTGRES_URL,
    RESULTS_DIR,
    STORES,
    memory_es_env,
    postgres_admin,
    postgres_available,
    postgres_es_env,
    quiet_logging,
    sqlite_es_env,
    write_report,
)
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from rich.console import Console
from rich.table import Table
from suite import Row, time_ratio

from ledger.errors import LedgerError
from ledger.testing import (
    DEFAULT_SEED,
    AskCancellationStatus,
    Command,
    LedgerStateMachine,
    ManualClock,
    Outcome,
    Wait,
    scratch_store,
)
from ledger.testing import (
    run as run_machine,
)
from ledger.testing.driver import Driver
from ledger.testing.stores import open_test_ledger

STEPS_PER_EXAMPLE = 50
#: Commands that record nothing even when they succeed: the clock, and a read.
NON_WRITING = (Wait, AskCancellationStatus)

console = Console(width=140)


def store_argument(kind: str) -> str:
    """What ``LedgerStateMachine.store`` and ``scratch_store`` take for a store kind."""
    return POSTGRES_URL if kind == "postgres" else kind


# -- full and no-rebuild: the machine, recording what it runs ------------------------------


class RecordingMachine(LedgerStateMachine):
    """`LedgerStateMachine` that keeps each example's commands and outcomes, and times the
    per-example setup (fresh store + `Ledger.open`) and teardown (close + remove)."""

    examples: ClassVar[list[list[Command]]]
    outcomes: ClassVar[list[list[str]]]
    setup_seconds: ClassVar[list[float]]

    def __init__(self) -> None:
        start = time.perf_counter()
        super().__init__()
        self.commands: list[Command] = []
        self.errors: list[str] = []
        cls = type(self)
        cls.examples.append(self.commands)
        cls.outcomes.append(self.errors)
        cls.setup_seconds.append(time.perf_counter() - start)

    def run(self, command: Command) -> Outcome:
        self.commands.append(command)
        outcome = super().run(command)
        self.errors.append(outcome_name(outcome.error))
        return outcome

    def teardown(self) -> None:
        start = time.perf_counter()
        super().teardown()
        type(self).setup_seconds.append(time.perf_counter() - start)


def outcome_name(error: type[LedgerError] | None) -> str:
    return "ok" if error is None else error.__name__


def machine_for(kind: str, *, rebuild: bool) -> type[RecordingMachine]:
    name = f"{kind.title()}{'Full' if rebuild else 'NoRebuild'}"
    attributes = {
        "store": store_argument(kind),
        "rebuild_views": rebuild,
        "examples": [],
        "outcomes": [],
        "setup_seconds": [],
    }
    return type(name, (RecordingMachine,), attributes)


@dataclass
class MachineRun:
    steps: int
    examples: int
    seconds: float
    setup_seconds: float  # inside `seconds`: fresh stores opened and removed
    recorded: list[list[Command]] = field(repr=False)
    outcomes: list[list[str]] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.steps / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "examples": self.examples,
            "seconds": self.seconds,
            "setup_seconds": self.setup_seconds,
            "steps_per_second": self.rate,
        }


def bench_machine(kind: str, steps: int, *, rebuild: bool) -> MachineRun:
    machine = machine_for(kind, rebuild=rebuild)
    gc.collect()
    report = run_machine(
        machine, steps=steps, steps_per_example=STEPS_PER_EXAMPLE, seed_value=DEFAULT_SEED
    )
    recorded = sum(len(commands) for commands in machine.examples)
    assert recorded == report.steps, f"recorded {recorded} commands, run reports {report.steps}"
    return MachineRun(
        steps=report.steps,
        examples=report.examples,
        seconds=report.seconds,
        setup_seconds=sum(machine.setup_seconds),
        recorded=machine.examples,
        outcomes=machine.outcomes,
    )


def shape(examples: list[list[Command]]) -> list[list[str]]:
    """Command types per example: what two runs with the same seed must share."""
    return [[type(command).__name__ for command in commands] for commands in examples]


# -- commands only: the ledger alone -------------------------------------------------------


@dataclass
class Replay:
    steps: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0  # inside `seconds`
    succeeded: int = 0
    failed: int = 0
    writes: list[int] = field(default_factory=list)  # writing successes, per example
    outcomes: list[list[str]] = field(default_factory=list, repr=False)
    by_command: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.steps / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "seconds": self.seconds,
            "setup_seconds": self.setup_seconds,
            "steps_per_second": self.rate,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "writes": sum(self.writes),
            "by_command": dict(sorted(self.by_command.items())),
        }


def bench_commands_only(kind: str, examples: list[list[Command]]) -> Replay:
    replay = Replay()
    gc.collect()
    for commands in examples:
        clock = ManualClock()
        errors: list[str] = []
        writes = 0
        start = time.perf_counter()
        with scratch_store(store_argument(kind)) as url, open_test_ledger(url, clock) as led:
            opened = time.perf_counter()
            driver = Driver(led, clock)
            for command in commands:
                try:
                    driver.run(command)
                except LedgerError as error:
                    errors.append(type(error).__name__)
                else:
                    errors.append("ok")
                    writes += not isinstance(command, NON_WRITING)
            ran = time.perf_counter()
        done = time.perf_counter()
        replay.seconds += done - start
        replay.setup_seconds += (opened - start) + (done - ran)
        replay.steps += len(commands)
        replay.writes.append(writes)
        replay.outcomes.append(errors)
        for command, outcome in zip(commands, errors, strict=True):
            replay.by_command[f"{type(command).__name__} {outcome}"] += 1
    replay.succeeded = sum(outcome == "ok" for row in replay.outcomes for outcome in row)
    replay.failed = replay.steps - replay.succeeded
    return replay


# -- bare eventsourcing: the storage floor -------------------------------------------------


class Write(Aggregate):
    """One write, one event (its ``Created``)."""

    def __init__(self, step: int) -> None:
        self.step = step


class BareWrites(Application[uuid.UUID]):
    name = "BareWrites"


@contextmanager
def bare_store(kind: str, directory: Path) -> Iterator[dict[str, str]]:
    """A fresh store for one example, like `scratch_store`; yields the eventsourcing env."""
    tag = uuid.uuid4().hex[:12]
    if kind == "memory":
        yield memory_es_env(f"bench-sm-{tag}")
    elif kind == "sqlite":
        path = directory / f"es-{tag}.db"
        try:
            yield sqlite_es_env(path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        schema = f"bench_sm_{tag}"
        postgres_admin(f'CREATE SCHEMA "{schema}"')
        try:
            yield postgres_es_env(schema)
        finally:
            postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass
class BareRun:
    writes: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0  # inside `seconds`

    @property
    def rate(self) -> float:
        return self.writes / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "writes": self.writes,
            "seconds": self.seconds,
            "setup_seconds": self.setup_seconds,
            "writes_per_second": self.rate,
        }


def bench_bare_es(kind: str, writes_per_example: list[int]) -> BareRun:
    bare = BareRun()
    with tempfile.TemporaryDirectory(prefix="ledger-bench-sm-") as name:
        directory = Path(name)
        gc.collect()
        for writes in writes_per_example:
            start = time.perf_counter()
            with bare_store(kind, directory) as env:
                app = BareWrites(env=env)
                opened = time.perf_counter()
                for step in range(writes):
                    app.save(Write(step))
                ran = time.perf_counter()
                app.close()
            done = time.perf_counter()
            bare.seconds += done - start
            bare.setup_seconds += (opened - start) + (done - ran)
            bare.writes += writes
    return bare


# -- one store -----------------------------------------------------------------------------


@dataclass
class StoreResult:
    store: str
    steps_asked: int
    full: MachineRun
    no_rebuild: MachineRun
    commands_only: Replay
    bare_es: BareRun
    same_commands: bool  # full and no-rebuild generated the same command types
    same_outcomes: bool  # the replay met the same outcomes as the machine

    @property
    def checking_ratio(self) -> float:
        """full ÷ commands only, in time: how much slower the checked run is."""
        return self.full.seconds / self.commands_only.seconds

    @property
    def ledger_ratio(self) -> float:
        """commands only ÷ bare es, in time, for the same examples on fresh stores."""
        return self.commands_only.seconds / self.bare_es.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "steps_asked": self.steps_asked,
            "full": self.full.to_json(),
            "no_rebuild": self.no_rebuild.to_json(),
            "commands_only": self.commands_only.to_json(),
            "bare_es": self.bare_es.to_json(),
            "ratios": {
                "full_over_commands_only": self.checking_ratio,
                "no_rebuild_over_commands_only": self.no_rebuild.seconds
                / self.commands_only.seconds,
                "commands_only_over_bare_es": self.ledger_ratio,
            },
            "checks": {
                "no_rebuild_generated_the_same_commands": self.same_commands,
                "replay_met_the_same_outcomes": self.same_outcomes,
            },
        }


def bench_store(kind: str, steps: int) -> StoreResult:
    # Warm-up, untimed: one example of each contestant (another seed), so that imports and
    # first-use costs are not in the figures.
    warmup = machine_for(kind, rebuild=True)
    run_machine(warmup, steps=1, steps_per_example=STEPS_PER_EXAMPLE, seed_value=DEFAULT_SEED - 1)
    bench_bare_es(kind, bench_commands_only(kind, warmup.examples).writes)
    full = bench_machine(kind, steps, rebuild=True)
    no_rebuild = bench_machine(kind, steps, rebuild=False)
    replay = bench_commands_only(kind, full.recorded)
    bare = bench_bare_es(kind, replay.writes)
    return StoreResult(
        store=kind,
        steps_asked=steps,
        full=full,
        no_rebuild=no_rebuild,
        commands_only=replay,
        bare_es=bare,
        same_commands=shape(full.recorded) == shape(no_rebuild.recorded),
        same_outcomes=replay.outcomes == full.outcomes,
    )


# -- as a part of the suite ("SM") -----------------------------------------------------------

#: steps for memory and sqlite, steps for postgres
SUITE_STEPS = {True: (200, 60), False: (1000, 300)}


def run(quick: bool, stores: Sequence[str]) -> list[Row]:
    """The suite's extra part "SM": ``run.py --only SM``, or in a full run."""
    steps, pg_steps = SUITE_STEPS[quick]
    rows: list[Row] = []
    for kind in stores:
        if kind == "postgres" and (problem := postgres_available()):
            print(f"SM: PostgreSQL skipped: {problem}")
            continue
        r = bench_store(kind, pg_steps if kind == "postgres" else steps)
        extra = r.to_json()
        rows.append(
            Row(
                bench="SM",
                store=kind,
                measure=f"LedgerStateMachine, {r.full.steps} steps, total",
                ledger=r.full.seconds,
                baseline=r.commands_only.seconds,
                baseline_name="same commands, no checks",
                unit="s",
                ratio=time_ratio(r.full.seconds, r.commands_only.seconds),
                extra=extra,
            )
        )
        rows.append(
            Row(
                bench="SM",
                store=kind,
                measure=f"the same commands on the ledger, {r.commands_only.succeeded} ok",
                ledger=r.commands_only.seconds,
                baseline=r.bare_es.seconds,
                baseline_name=f"bare es, {r.bare_es.writes} writes",
                unit="s",
                ratio=time_ratio(r.commands_only.seconds, r.bare_es.seconds),
            )
        )
    return rows


# -- output --------------------------------------------------------------------------------


def render(results: list[StoreResult], title: str) -> Table:
    table = Table(
        title=title,
        caption=(
            "same examples, each on a fresh store, end to end; ratios are total times"
            " (>1: the left one is slower)"
        ),
    )
    table.add_column("store")
    for header in (
        "full steps/s",
        "no-rebuild steps/s",
        "commands-only steps/s",
        "bare es writes/s",
        "full ÷ commands-only",
        "commands-only ÷ bare es",
    ):
        table.add_column(header, justify="right")
    for r in results:
        table.add_row(
            r.store,
            f"{r.full.rate:,.0f}",
            f"{r.no_rebuild.rate:,.0f}",
            f"{r.commands_only.rate:,.0f}",
            f"{r.bare_es.rate:,.0f}",
            f"{r.checking_ratio:,.1f}× slower",
            f"{r.ledger_ratio:,.1f}× slower",
        )
    return table


def render_details(results: list[StoreResult]) -> Table:
    table = Table(title="where the time went (seconds; setup = fresh store opened and removed)")
    table.add_column("store")
    table.add_column("steps / examples", justify="right")
    for header in ("full", "no-rebuild", "commands-only", "bare es"):
        table.add_column(f"{header} total / setup", justify="right")
    table.add_column("es writes / ok commands", justify="right")
    table.add_column("same commands / outcomes", justify="right")
    for r in results:
        table.add_row(
            r.store,
            f"{r.full.steps} / {r.full.examples}",
            *(
                f"{part.seconds:.2f} / {part.setup_seconds:.2f}"
                for part in (r.full, r.no_rebuild, r.commands_only, r.bare_es)
            ),
            f"{r.bare_es.writes} / {r.commands_only.succeeded}",
            f"{'yes' if r.same_commands else 'NO'} / {'yes' if r.same_outcomes else 'NO'}",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--steps", type=int, default=1000, help="steps for memory and sqlite (default 1000)"
    )
    parser.add_argument(
        "--pg-steps", type=int, default=300, help="steps for postgres (default 300)"
    )
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "bench_state_machine.json")
    args = parser.parse_args(argv)
    quiet_logging()

    stores = list(args.stores)
    if "postgres" in stores and (problem := postgres_available()):
        console.print(f"[yellow]skipping postgres[/]: {problem}")
        stores.remove("postgres")

    started = time.perf_counter()
    results: list[StoreResult] = []
    for kind in stores:
        steps = args.pg_steps if kind == "postgres" else args.steps
        console.print(f"[dim]{kind}: {steps} steps, seed {DEFAULT_SEED} ...[/]")
        results.append(bench_store(kind, steps))
    elapsed = time.perf_counter() - started

    title = (
        f"LedgerStateMachine vs the ledger alone vs bare eventsourcing — seed {DEFAULT_SEED},"
        f" ≤{STEPS_PER_EXAMPLE} steps/example ({elapsed:.0f} s)"
    )
    console.print(render(results, title))
    console.print(render_details(results))

    write_report(
        args.output,
        "bench_state_machine",
        ("eventsourcing", "hypothesis", "psycopg"),
        {
            "seed": DEFAULT_SEED,
            "steps": {"memory_sqlite": args.steps, "postgres": args.pg_steps},
            "steps_per_example": STEPS_PER_EXAMPLE,
            "postgres_url": POSTGRES_URL if "postgres" in stores else None,
            "elapsed_seconds": elapsed,
            "definitions": {
                "rates": "steps (or writes) / total seconds, fresh store per example included",
                "full_over_commands_only": "full seconds / commands-only seconds (same steps)",
                "commands_only_over_bare_es": "commands-only seconds / bare-es seconds"
                " (same examples; one es write per successful command other than Wait and"
                " AskCancellationStatus)",
            },
            "results": [r.to_json() for r in results],
            "skipped": sorted(set(args.stores) - set(stores)),
        },
    )
    console.print(f"[dim]wrote {args.output}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
