"""Bounded waits on PostgreSQL (R21): how long a call waits when the server will not serve it.

Against a private PostgreSQL 15 server that this script starts, blocks, stops,
restarts and silences (tests/private_postgres.py), the same four situations for
the ledger and, as the baseline in the same run, a bare eventsourcing
``Application`` on eventsourcing's own PostgreSQL factory (its defaults; the
same ``connect_timeout``):

* a write behind a lock another session holds on the events table;
* a write while the server is stopped;
* opening against a port that accepts TCP and never answers;
* the first write after a restart (every pooled connection dead).

A call still waiting after `CAP` seconds is recorded as `CAP` ("still waiting").
Prints a table, writes ``benchmarks/results/full/bounded_waits.json`` (committed).

Run: ``.venv/bin/python benchmarks/bounded_waits.py``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import psycopg  # noqa: E402
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledger import Ledger  # noqa: E402
from tests.private_postgres import private_postgres, silent_server, wait_until_up  # noqa: E402
from tests.support import QUIET, ManualClock, add_tenant, buy  # noqa: E402

CAP = 30.0
CONNECT_TIMEOUT = 2
LOCK_TIMEOUT = 1


def timed(call: Callable[[], object]) -> tuple[float, str]:
    """Seconds until ``call`` returned or raised (at most `CAP`), and how it ended."""
    outcome: dict[str, str] = {}

    def target() -> None:
        try:
            call()
            outcome["how"] = "ok"
        except Exception as error:  # what it raised is the figure's note
            outcome["how"] = type(error).__name__

    started = time.perf_counter()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(CAP)
    took = time.perf_counter() - started
    return min(took, CAP), outcome.get("how", f"still waiting at {CAP:.0f} s")


def bare(port: int) -> Application[Any]:
    os.environ.pop("PERSISTENCE_MODULE", None)
    return Application(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": "postgres",
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "",
            "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        }
    )


class Subject:
    """What is measured: the ledger, or the bare eventsourcing application."""

    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        if name == "ledger":
            self.url = f"{url}?connect_timeout={CONNECT_TIMEOUT}&lock_timeout={LOCK_TIMEOUT}"
            self.led = Ledger.open(
                self.url, clock=ManualClock(), secret_key=os.urandom(32), logger=QUIET
            )
            self.tenant = add_tenant(self.led)
            self.table = "public.ledger_events"
        else:
            self.app = bare(port)
            self.table = f"public.{self.app.recorder.events_table_name}"  # type: ignore[attr-defined]

    def write(self) -> None:
        if self.name == "ledger":
            buy(self.led, self.tenant)
        else:
            self.app.save(Aggregate())

    def close(self) -> None:
        (self.led if self.name == "ledger" else self.app).close()


def behind_a_lock(subject: Subject, dsn: str) -> tuple[float, str]:
    subject.write()
    with psycopg.connect(dsn) as holder:
        holder.execute(f"LOCK TABLE {subject.table} IN ACCESS EXCLUSIVE MODE")
        result = timed(subject.write)
        holder.rollback()
    return result


def measure(name: str) -> dict[str, tuple[float, str]]:
    figures: dict[str, tuple[float, str]] = {}
    with private_postgres() as server:
        dsn = f"host=127.0.0.1 port={server.port} dbname=postgres user=postgres"
        subject = Subject(name, server.port)
        try:
            figures["write behind a held lock"] = behind_a_lock(subject, dsn)
            subject.write()
            server.restart()
            figures["first write after a restart"] = timed(subject.write)
            server.stop()
            figures["write while the server is down"] = timed(subject.write)
            server.start()
            wait_until_up(server)
            figures["first write once the server is back"] = timed(subject.write)
        finally:
            subject.close()
    with silent_server() as port:
        if name == "ledger":
            url = f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout={CONNECT_TIMEOUT}"
            figures["open on a silent server"] = timed(
                lambda: Ledger.open(url, secret_key=os.urandom(32), logger=QUIET)
            )
        else:
            figures["open on a silent server"] = timed(lambda: bare(port).save(Aggregate()))
    return figures


def main() -> None:
    os.environ.setdefault("XDG_CONFIG_HOME", str(HERE / "results" / ".bounded-waits-config"))
    ledger, baseline = measure("ledger"), measure("eventsourcing")
    table = Table(
        title=f"Bounded waits (connect_timeout={CONNECT_TIMEOUT} s, lock_timeout={LOCK_TIMEOUT} s)",
        caption="baseline: a bare eventsourcing Application, its PostgreSQL defaults",
    )
    for column in ("situation", "ledger", "eventsourcing", "ratio"):
        table.add_column(column)
    rows = []
    for situation, (seconds, how) in ledger.items():
        base_seconds, base_how = baseline[situation]
        ratio = seconds / base_seconds if base_seconds else float("inf")
        table.add_row(
            situation,
            f"{seconds:.2f} s ({how})",
            f"{base_seconds:.2f} s ({base_how})",
            f"{ratio:.2f}×",
        )
        rows.append(
            {
                "situation": situation,
                "ledger_seconds": round(seconds, 3),
                "ledger_outcome": how,
                "baseline_seconds": round(base_seconds, 3),
                "baseline_outcome": base_how,
                "ratio": round(ratio, 3),
            }
        )
    Console(width=160).print(table)
    out = HERE / "results" / "full" / "bounded_waits.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "bounded_waits",
                "connect_timeout": CONNECT_TIMEOUT,
                "lock_timeout": LOCK_TIMEOUT,
                "cap_seconds": CAP,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
