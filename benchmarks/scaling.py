"""Scaling (SPEC §12, docs/scaling.md): what one primary carries, what replicas add, and
what storing each partner apart (the Citus plan) would give, measured on this machine.

1. **Appends.** K writer processes (1, 2, 4) append as fast as they can for S seconds:
   ``ledger`` (a purchase: one append transaction of the order's and the licence's
   events), ``es lock`` (raw psycopg, eventsourcing's pattern: ``LOCK TABLE … IN EXCLUSIVE
   MODE``, one INSERT, COMMIT) and ``no lock`` (the same INSERT alone). On the local
   server (no replication) and, when it is up (``make ha-up``), on the Patroni primary
   whose commits wait for two synchronous standbys. One writer's time per append is the
   lock's hold plus a round trip; the saturated rate is the ceiling the lock allows.
2. **Replicas** (Patroni only). R reader processes query one tenant's software list for
   S seconds from the primary and from the standbys (``replica_url``), beside raw psycopg
   running the same SELECT; and, after each purchase, how long a query waits until the
   replica holds it (read-your-writes) against the same query on the primary.
3. **Partners apart.** Four writer processes, one partner each, buy for S seconds into one
   schema, then each into a schema of its own (a store per partner: what distributing the
   events by partner gives, one events table and so one lock per shard), with the raw
   ``es lock`` pattern beside it.

``.venv/bin/python benchmarks/scaling.py [--quick] [--seconds S]``: prints the tables and
writes ``benchmarks/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import POSTGRES_URL, postgres_available, quiet_logging
from suite import Row, rate_ratio, show, time_ratio, write_rows

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.errors import StoreUnavailable

PATRONI = "postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442,127.0.0.1:5443/postgres"
PRIMARY_ONLY = "target_session_attrs=read-write"
STANDBYS = "target_session_attrs=standby"
KEY = "c2NhbGluZy1iZW5jaC1rZXktbm90LWEtc2VjcmV0MzI="  # a benchmark key (32 bytes), not a secret
OFFICE = Product(
    product_id="DG7GMGF0D7FV", sku_id="0002", title="Office LTSC 2024", kind=ProductKind.PERPETUAL
)
PRICE = Money("10.00", "EUR")
STATE = b"x" * 600  # about a purchase's two sealed events
RAW_TABLE = (
    "CREATE TABLE IF NOT EXISTS {schema}.raw_events (id BIGSERIAL PRIMARY KEY,"
    " stream UUID NOT NULL, version INT NOT NULL, state BYTEA NOT NULL)"
)


def _agent(partner: str) -> Actor:
    return Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id=partner)


def _customer(name: str) -> Customer:
    tenant_id = uuid.uuid4()
    return Customer(
        tenant_id=tenant_id, domain=f"t{tenant_id.hex[:8]}.example", name=name, market="NL"
    )


def _url(base: str, schema: str, *extra: str) -> str:
    sep = "&" if "?" in base else "?"
    return base + sep + "&".join([f"schema={schema}", *extra])


def _conninfo(base: str) -> str:
    """A psycopg connection string for the primary of ``base`` (one host or several)."""
    return base + ("&" if "?" in base else "?") + PRIMARY_ONLY


# -- worker processes ------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    kind: str  # "ledger", "es lock", "no lock", "read ledger", "read raw"
    base: str  # the server URL, without schema
    schema: str
    partner: str = "P1"
    replica: bool = False  # reads: from the standbys


def _open(job: Job, **options: Any) -> Ledger:
    replica = _url(job.base, job.schema, STANDBYS) if job.replica else None
    for _ in range(50):
        try:
            return Ledger.open(
                _url(job.base, job.schema, PRIMARY_ONLY),
                secret_key=KEY,
                replica_url=replica,
                **options,
            )
        except StoreUnavailable:  # a fresh schema created by several processes at once
            time.sleep(0.1)
    raise SystemExit(f"cannot open {job.base}")


def _operation(job: Job) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one operation, close) for the job, set up and warmed."""
    if job.kind in ("es lock", "no lock"):
        conn = psycopg.connect(_conninfo(job.base), autocommit=True)
        table = f'"{job.schema}".raw_events'
        lock = job.kind == "es lock"

        def append() -> None:
            with conn.transaction():
                if lock:
                    conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                conn.execute(
                    f"INSERT INTO {table} (stream, version, state) VALUES (%s, 1, %s)",
                    (uuid.uuid4(), STATE),
                )

        return append, conn.close
    if job.kind == "read raw":
        conn = psycopg.connect(_conninfo(job.base), autocommit=True)
        tenant = _first_tenant(conn, job.schema)
        sql = (
            f'SELECT * FROM "{job.schema}".ledger_software WHERE tenant_id = %s AND partner_id = %s'
        )

        def read_raw() -> None:
            conn.execute(sql, (tenant, job.partner)).fetchall()

        return read_raw, conn.close
    led = _open(job, views="follower" if job.kind == "ledger" else "inline")
    agent = _agent(job.partner)
    if job.kind == "read ledger":
        tenant = _first_tenant_of(led, job)

        def read() -> None:
            led.software(agent, tenant)

        return read, led.close
    customer = _customer("Shard BV")
    led.add_customer(agent, customer)

    def purchase() -> None:
        led.purchase(agent, customer.tenant_id, OFFICE, 1, PRICE)

    return purchase, led.close


def _first_tenant(conn: psycopg.Connection[Any], schema: str) -> Any:
    row = conn.execute(f'SELECT tenant_id FROM "{schema}".ledger_software LIMIT 1').fetchone()
    assert row is not None, "the reads' store has a purchase"
    return row[0]


def _first_tenant_of(led: Ledger, job: Job) -> uuid.UUID:
    return led.customers(_agent(job.partner))[0].tenant_id


def _worker(job: Job, ready: Any, start: Any, seconds: float, out: Any) -> None:
    quiet_logging()
    try:
        operation, close = _operation(job)
        for _ in range(5):
            operation()
    except BaseException as error:
        ready.put(error)
        raise
    ready.put("ready")
    while not start.value:
        time.sleep(0.0005)
    begin = start.value
    while time.time() < begin:
        time.sleep(0.0005)
    times: list[float] = []
    end = begin + seconds
    while time.time() < end:
        began = time.perf_counter()
        operation()
        times.append(time.perf_counter() - began)
    close()
    out.put((len(times), statistics.median(times) if times else 0.0))


def run_together(jobs: Sequence[Job], seconds: float) -> tuple[float, float]:
    """All jobs in processes of their own, started at one instant: (operations/s, p50 s)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    start = context.Value("d", 0.0)
    out = context.Queue()
    processes = [
        context.Process(target=_worker, args=(job, ready, start, seconds, out)) for job in jobs
    ]
    for process in processes:
        process.start()
    # Every process set up and warmed, then one start instant a moment ahead for all of them.
    signals = [ready.get(timeout=120) for _ in processes]
    failed = [signal for signal in signals if isinstance(signal, BaseException)]
    if failed:
        for process in processes:
            process.terminate()
        raise SystemExit(f"a {jobs[0].kind} process failed: {failed[0]!r}")
    start.value = time.time() + 0.2
    results = [out.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(30)
    total = sum(count for count, _ in results)
    return total / seconds, statistics.median(p50 for _, p50 in results)


# -- set-up ------------------------------------------------------------------------------


def fresh_schema(base: str, name: str) -> str:
    schema = f"scale_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(RAW_TABLE.format(schema=f'"{schema}"'))
    return schema


def drop_schemas(base: str) -> None:
    with psycopg.connect(_conninfo(base), autocommit=True) as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scale\\_%'"
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def patroni_up() -> bool:
    try:
        with psycopg.connect(_conninfo(PATRONI) + "&connect_timeout=2") as conn:
            conn.execute("SELECT 1")
        with psycopg.connect(PATRONI + "?" + STANDBYS + "&connect_timeout=2") as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


# -- the three parts ------------------------------------------------------------------


def appends(servers: dict[str, str], writers: Sequence[int], seconds: float) -> list[Row]:
    rows = []
    for server, base in servers.items():
        for k in writers:
            figures = {}
            for kind in ("ledger", "es lock", "no lock"):
                schema = fresh_schema(base, "appends")
                jobs = [Job(kind, base, schema, partner=f"P{n}") for n in range(k)]
                figures[kind] = run_together(jobs, seconds)
            (ledger, ledger_p50), (locked, locked_p50), (free, _) = (
                figures["ledger"],
                figures["es lock"],
                figures["no lock"],
            )
            rows.append(
                Row(
                    "SC1",
                    server,
                    f"appends/s, {k} writer process{'es' if k > 1 else ''}",
                    round(ledger, 1),
                    round(locked, 1),
                    "raw psycopg, es table lock",
                    "appends/s",
                    round(rate_ratio(ledger, locked), 2),
                    extra={
                        "ledger_p50_ms": round(ledger_p50 * 1000, 3),
                        "es_lock_p50_ms": round(locked_p50 * 1000, 3),
                        "no_lock_appends_per_s": round(free, 1),
                        "lock_ceiling_appends_per_s": round(locked, 1),
                    },
                )
            )
    return rows


def replicas(readers: Sequence[int], seconds: float, samples: int) -> list[Row]:
    base = PATRONI
    schema = fresh_schema(base, "replicas")
    seed = Job("ledger", base, schema)
    with _open(seed) as led:
        agent = _agent("P1")
        customer = _customer("Reads BV")
        led.add_customer(agent, customer)
        for _ in range(20):
            led.purchase(agent, customer.tenant_id, OFFICE, 1, PRICE)
        led.catch_up()
    time.sleep(1)  # replayed on the standbys
    rows = []
    for r in readers:
        raw, raw_p50 = run_together([Job("read raw", base, schema)] * r, seconds)
        primary, primary_p50 = run_together([Job("read ledger", base, schema)] * r, seconds)
        standby, standby_p50 = run_together(
            [Job("read ledger", base, schema, replica=True)] * r, seconds
        )
        for where, rate, p50 in (
            ("primary", primary, primary_p50),
            ("standbys", standby, standby_p50),
        ):
            rows.append(
                Row(
                    "SC2",
                    "patroni",
                    f"software list from the {where}, {r} reader process{'es' if r > 1 else ''}",
                    round(rate, 1),
                    round(raw, 1),
                    "raw psycopg SELECT on the primary",
                    "queries/s",
                    round(rate_ratio(rate, raw), 2),
                    extra={"p50_ms": round(p50 * 1000, 3), "raw_p50_ms": round(raw_p50 * 1000, 3)},
                )
            )
    rows.extend(read_your_writes(base, schema, samples))
    return rows


def read_your_writes(base: str, schema: str, samples: int) -> list[Row]:
    """A purchase, then the tenant's list: how long the query takes, standby vs primary."""
    waits: dict[str, list[float]] = {"primary": [], "standbys": []}
    for where, replica in (("primary", False), ("standbys", True)):
        with _open(Job("ledger", base, schema, replica=replica)) as led:
            agent = _agent("P1")
            customer = _customer("Own writes BV")
            led.add_customer(agent, customer)
            for _ in range(samples):
                order = led.purchase(agent, customer.tenant_id, OFFICE, 1, PRICE)
                started = time.perf_counter()
                listed = led.software(agent, customer.tenant_id)
                waits[where].append(time.perf_counter() - started)
                assert order in {item.order_id for item in listed}
    rows = []
    primary = sorted(waits["primary"])
    standby = sorted(waits["standbys"])
    for label, pick in (("p50", 0.5), ("p99", 0.99)):
        at = min(len(primary) - 1, int(len(primary) * pick))
        rows.append(
            Row(
                "SC2",
                "patroni",
                f"query right after own purchase, {label} (read-your-writes)",
                round(standby[at] * 1000, 3),
                round(primary[at] * 1000, 3),
                "the same query on the primary",
                "ms",
                round(time_ratio(standby[at], primary[at]), 2),
            )
        )
    return rows


def _partners_jobs(kind: str, base: str, schemas: Sequence[str]) -> list[Job]:
    """One writer per partner, partner n writing to ``schemas[n]``."""
    return [Job(kind, base, schema, partner=f"P{n}") for n, schema in enumerate(schemas)]


def partners_apart(base: str, shards: int, seconds: float) -> list[Row]:
    together = fresh_schema(base, "one")
    apart = [fresh_schema(base, f"shard{n}") for n in range(shards)]
    layouts = (("one store", [together] * shards), (f"{shards} stores, one per partner", apart))
    rows = []
    for layout, schemas in layouts:
        rate, p50 = run_together(_partners_jobs("ledger", base, schemas), seconds)
        raw, _ = run_together(_partners_jobs("es lock", base, schemas), seconds)
        rows.append(
            Row(
                "SC3",
                "postgres",
                f"purchases/s, {shards} partners' writers, {layout}",
                round(rate, 1),
                round(raw, 1),
                "raw psycopg, es table lock, same layout",
                "appends/s",
                round(rate_ratio(rate, raw), 2),
                extra={"p50_ms": round(p50 * 1000, 3)},
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per run, fewer writers")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    quiet_logging()
    seconds = args.seconds or (1.0 if args.quick else 5.0)
    problem = postgres_available()
    if problem:
        raise SystemExit(f"PostgreSQL at {POSTGRES_URL} is needed: {problem}")
    servers = {"postgres": POSTGRES_URL}
    with_patroni = patroni_up()
    if with_patroni:
        servers["patroni"] = PATRONI
    writers = (1, 2) if args.quick else (1, 2, 4)
    rows: list[Row] = []
    try:
        rows += appends(servers, writers, seconds)
        if with_patroni:
            rows += replicas(
                (1, 2) if args.quick else (1, 2, 4), seconds, 50 if args.quick else 300
            )
        rows += partners_apart(POSTGRES_URL, 4, seconds)
    finally:
        for base in servers.values():
            drop_schemas(base)
    show(rows, "Scaling: appends, replicas, partners apart")
    path = write_rows(
        "scaling",
        rows,
        ("eventsourcing", "psycopg"),
        seconds=seconds,
        patroni=with_patroni,
    )
    print(f"wrote {path}")
    if not with_patroni:
        print("the Patroni cluster is not up (make ha-up): its rows were left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
