"""B3: queries over ~1M activity-log entries, each beside the same SQL run directly.

Issue 12 (query part): "a query on views that are already up to date within 1.2× of the
same SQL run directly". For each store (a SQLite file, a PostgreSQL schema) the data set is
written by `datasets.bulk_load` (the real domain methods, sealed, seeded ids, so every
run holds the same customers and orders) and the views are brought up to date once. Then,
interleaved, sample by sample:

* **ledger**: the public query on a `Ledger` opened inline (the default), views up to date;
* **raw SQL**: the very statements that query ran against the views (recorded from the
  ledger's own query function, rendered for the store), executed on a plain
  ``sqlite3``/``psycopg`` connection (autocommit) returning tuples;
* **raw SQL + values**: the same, plus building the public values from the tuples with
  the public constructors (`UUID`, `datetime.fromisoformat`, `Money.from_minor_units`,
  the dataclasses), to show what value construction costs.

Queries: a partner's activity-log page of 100 over two months; the same filtered by one
tenant; a partner's credits for its busiest month; a tenant's software list.

Run alone: ``.venv/bin/python benchmarks/b3_queries.py [--quick] [--stores sqlite postgres]
[--data DIR]``. ``--data`` keeps the loaded data sets (a SQLite file in DIR, a PostgreSQL
schema ``b3_<events>``) and reuses them on the next run, so that two versions of the code
can be measured on the same data. Prints a table; writes ``benchmarks/results/b3_queries.json``
(``b3_queries_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from common import (
    POSTGRES_CONNINFO,
    POSTGRES_URL,
    postgres_admin,
    postgres_available,
    quiet_logging,
)
from suite import Row, show, time_ratio, write_rows

HERE = Path(__file__).resolve()
if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))

from datasets import PARTNERS, SECRET, bulk_load, percentile  # noqa: E402

from ledger import Actor, Ledger, Money, Role  # noqa: E402
from ledger.projections import audit_chain  # noqa: E402
from ledger.values import (  # noqa: E402
    ActivityEntry,
    CreditLine,
    CreditStatement,
    ProductKind,
    SoftwareItem,
)

#: ~12 access records in ~17.3 events per order: 1,280,000 events hold ~1,000,000 entries.
FULL_EVENTS = 1_280_000
QUICK_EVENTS = 12_000
SEED = 12
TARGET = 1.2
# Every 10th order is cancelled, and partners take turns: P9 holds all the credits.
PARTNER = PARTNERS[9]
RANGE = (date(2026, 10, 1), date(2026, 11, 30))
READER = Actor(user="gail", roles={Role.GLOBAL_ADMIN}, partner_id=PARTNER)


# -- the data set --------------------------------------------------------------------------


@contextmanager
def dataset(kind: str, events: int, keep: Path | None) -> Iterator[str]:
    """A loaded store with its views up to date; kept (and reused) under ``keep``."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="b3-") as directory:
            url = _url(kind, events, Path(directory), kept=False)
            try:
                _load(url, events)
                yield url
            finally:
                if kind == "postgres":
                    postgres_admin(f'DROP SCHEMA IF EXISTS "{_schema(url)}" CASCADE')
        return
    keep.mkdir(parents=True, exist_ok=True)
    url = _url(kind, events, keep, kept=True)
    done = keep / f"b3_{kind}_{events}.done"
    if not done.exists():
        if kind == "postgres":
            postgres_admin(f'DROP SCHEMA IF EXISTS "{_schema(url)}" CASCADE')
        else:
            Path(url[len("sqlite:///") :]).unlink(missing_ok=True)
        _load(url, events)
        done.write_text(url + "\n")
    yield url


def _url(kind: str, events: int, directory: Path, *, kept: bool) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / f'b3_{events}.db'}"
    # A kept data set has a fixed name (found again next run); a passing one its own.
    schema = f"b3_{events}" if kept else f"b3_{events}_{uuid4().hex[:8]}"
    postgres_admin(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return f"{POSTGRES_URL}?schema={schema}"


def _schema(url: str) -> str:
    return url.split("schema=")[1]


def _load(url: str, events: int) -> None:
    started = time.perf_counter()
    written = bulk_load(url, events, seed=SEED)
    loaded = time.perf_counter() - started
    with Ledger.open(url, secret_key=SECRET):  # inline: open brings the views up to date
        pass
    print(
        f"  loaded {written:,} events in {loaded:.0f} s,"
        f" views in {time.perf_counter() - started - loaded:.0f} s",
        file=sys.stderr,
    )


# -- direct connections (the baselines) ----------------------------------------------------


class Raw:
    """A plain connection to the store: the statements the ledger ran, returning tuples."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite:///")
        if self.sqlite:
            self._conn: Any = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
        else:
            self._conn = psycopg.connect(POSTGRES_CONNINFO, autocommit=True)

    def run(self, statements: Sequence[tuple[str, Sequence[object]]]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for sql, params in statements:
            cursor = self._conn.execute(sql, params)
            rows = cursor.fetchall()
        return rows

    def columns(self, sql: str, params: Sequence[object]) -> dict[str, int]:
        cursor = self._conn.execute(sql, params)
        cursor.fetchall()
        return {d[0]: i for i, d in enumerate(cursor.description)}

    def one(self, sql: str, params: Sequence[object]) -> Any:
        return self._conn.execute(sql, params).fetchone()

    def table(self, name: str, url: str) -> str:
        return name if self.sqlite else f'"{_schema(url)}".{name}'

    def close(self) -> None:
        self._conn.close()


def recorded(led: Ledger, call: Callable[[], Any]) -> list[tuple[str, Sequence[object]]]:
    """The view statements one ledger query runs for its answer, rendered for the store.

    Spies on the view store itself, so that it works on any version of the query path;
    the views' own bookkeeping (the chain head, the head check) is left out.
    """
    statements: list[tuple[str, Sequence[object]]] = []
    views = led._views
    plain = views.query
    checked = getattr(views, "query_if_current", None)

    def note(template: str, params: Any) -> None:
        if template != audit_chain.LAST_LINK:
            statements.append((views.dialect.render(template), tuple(params)))

    def query(template: str, params: Any) -> Any:
        note(template, params)
        return plain(template, params)

    def query_if_current(head: str, template: str, params: Any) -> Any:
        note(template, params)
        assert checked is not None
        return checked(head, template, params)

    views.query = query  # type: ignore[method-assign]
    if checked is not None:
        views.query_if_current = query_if_current  # type: ignore[method-assign]
    try:
        call()
    finally:
        del views.query
        if checked is not None:
            del views.query_if_current
    return statements


# -- building the values from tuples with the public constructors --------------------------


def activity_values(rows: list[tuple[Any, ...]], c: dict[str, int]) -> list[ActivityEntry]:
    return [
        ActivityEntry(
            at=datetime.fromisoformat(r[c["at"]]),
            user=r[c["user_name"]],
            action=r[c["action"]],
            tenant_id=UUID(r[c["tenant_id"]]),
            order_id=UUID(r[c["order_id"]]),
            title=r[c["title"]],
            position=int(r[c["position"]]),
        )
        for r in rows
    ]


def credit_values(rows: list[tuple[Any, ...]], c: dict[str, int], month: str) -> CreditStatement:
    lines = tuple(
        CreditLine(
            order_id=UUID(r[c["order_id"]]),
            tenant_id=UUID(r[c["tenant_id"]]),
            amount=Money.from_minor_units(int(r[c["amount_minor"]]), r[c["currency"]]),
            issued_at=datetime.fromisoformat(r[c["issued_at"]]),
            reason=r[c["reason"]],
        )
        for r in rows
    )
    totals: dict[str, Money] = {}
    for line in lines:
        currency = line.amount.currency
        totals[currency] = totals.get(currency, Money(0, currency)) + line.amount
    return CreditStatement(month=month, lines=lines, totals=totals)


def software_values(rows: list[tuple[Any, ...]], c: dict[str, int]) -> list[SoftwareItem]:
    def optional(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    return [
        SoftwareItem(
            order_id=UUID(r[c["order_id"]]),
            product_id=r[c["product_id"]],
            title=r[c["title"]],
            quantity=int(r[c["quantity"]]),
            total=Money.from_minor_units(int(r[c["total_minor"]]), r[c["currency"]]),
            tax_inclusive=bool(r[c["tax_inclusive"]]),
            status=r[c["status"]],
            key_available=bool(r[c["key_available"]]),
            purchased_at=datetime.fromisoformat(r[c["purchased_at"]]),
            cancellable_until=optional(r[c["cancellable_until"]]),
            tenant_id=UUID(r[c["tenant_id"]]),
            sku_id=r[c["sku_id"]],
            kind=ProductKind(r[c["kind"]]),
            credited=Money.from_minor_units(int(r[c["credited_minor"]]), r[c["currency"]]),
        )
        for r in rows
    ]


# -- the measurements ----------------------------------------------------------------------


def queries(
    led: Ledger, raw: Raw, url: str
) -> list[tuple[str, Callable[[], Any], Callable[[list[tuple[Any, ...]], dict[str, int]], Any]]]:
    """(name, the ledger's call, building values from raw tuples) of each B3 query."""
    credits = raw.table("ledger_credits", url)
    software = raw.table("ledger_software", url)
    month = raw.one(
        f"SELECT month, COUNT(*) FROM {credits} WHERE partner_id = %s"
        " GROUP BY month ORDER BY COUNT(*) DESC, month LIMIT 1".replace(
            "%s", "?" if raw.sqlite else "%s"
        ),
        (PARTNER,),
    )[0]
    tenant = UUID(
        raw.one(
            f"SELECT tenant_id FROM {software} WHERE partner_id = %s"
            " GROUP BY tenant_id ORDER BY COUNT(*) DESC, tenant_id LIMIT 1".replace(
                "%s", "?" if raw.sqlite else "%s"
            ),
            (PARTNER,),
        )[0]
    )
    return [
        (
            "activity page of 100",
            lambda: led.activity_log(READER, *RANGE, limit=100),
            activity_values,
        ),
        (
            "activity page, one tenant",
            lambda: led.activity_log(READER, *RANGE, tenant_id=tenant, limit=100),
            activity_values,
        ),
        (
            f"credits of a busy month ({month})",
            lambda: led.monthly_credits(READER, month),
            lambda rows, c: credit_values(rows, c, month),
        ),
        ("software list of a tenant", lambda: led.software(READER, tenant), software_values),
    ]


def measure_store(kind: str, url: str, samples: int) -> list[Row]:
    rows: list[Row] = []
    raw = Raw(url)
    entries = raw.one(f"SELECT COUNT(*) FROM {raw.table('ledger_activity', url)}", ())[0]
    with Ledger.open(url, secret_key=SECRET) as led:
        for name, call, values in queries(led, raw, url):
            statements = recorded(led, call)
            columns = raw.columns(*statements[-1])
            result = call()
            size = len(result.lines) if isinstance(result, CreditStatement) else len(result)
            assert size == len(raw.run(statements)), name

            def baseline(
                statements: Sequence[tuple[str, Sequence[object]]] = statements,
            ) -> Any:
                return raw.run(statements)

            def with_values(
                statements: Sequence[tuple[str, Sequence[object]]] = statements,
                values: Any = values,
                columns: dict[str, int] = columns,
            ) -> Any:
                return values(raw.run(statements), columns)

            timed = interleaved([call, baseline, with_values], samples)
            ledger_t, raw_t, values_t = (sorted(t) for t in timed)
            for p in (50, 95):
                ledger_ms = percentile(ledger_t, p) * 1000
                raw_ms = percentile(raw_t, p) * 1000
                ratio = time_ratio(ledger_ms, raw_ms)
                rows.append(
                    Row(
                        bench="B3",
                        store=kind,
                        measure=f"{name} p{p}",
                        ledger=ledger_ms,
                        baseline=raw_ms,
                        baseline_name="raw SQL",
                        unit="ms",
                        ratio=ratio,
                        target=f"≤ {TARGET}×",
                        met=ratio <= TARGET,
                        extra={
                            "rows": size,
                            "entries": int(entries),
                            "samples": samples,
                            "statements": len(statements),
                            "raw_sql_plus_values_ms": percentile(values_t, p) * 1000,
                        },
                    )
                )
            values_ms = percentile(values_t, 50) * 1000
            ledger_ms = percentile(ledger_t, 50) * 1000
            rows.append(
                Row(
                    bench="B3",
                    store=kind,
                    measure=f"{name} p50",
                    ledger=ledger_ms,
                    baseline=values_ms,
                    baseline_name="raw SQL + values",
                    unit="ms",
                    ratio=time_ratio(ledger_ms, values_ms),
                    extra={"rows": size, "samples": samples},
                )
            )
    raw.close()
    return rows


def interleaved(calls: Sequence[Callable[[], Any]], samples: int) -> list[list[float]]:
    """Each call ``samples`` times after a warm-up, rotating which goes first in a round."""
    for call in calls:
        for _ in range(max(50, samples // 10)):  # psycopg prepares on each pooled connection
            call()
    times: list[list[float]] = [[] for _ in calls]
    for n in range(samples):
        for k in range(len(calls)):
            index = (n + k) % len(calls)
            started = time.perf_counter()
            calls[index]()
            times[index].append(time.perf_counter() - started)
    return times


def run(quick: bool, stores: Sequence[str], keep: Path | None = None) -> list[Row]:
    events = QUICK_EVENTS if quick else FULL_EVENTS
    samples = 100 if quick else 400
    rows: list[Row] = []
    for kind in stores:
        if kind not in ("sqlite", "postgres"):
            continue
        if kind == "postgres" and (problem := postgres_available()):
            print(f"skipping PostgreSQL: {problem}", file=sys.stderr)
            continue
        with dataset(kind, events, keep) as url:
            rows += measure_store(kind, url, samples)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events")
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--data", type=Path, help="keep and reuse the data sets here")
    args = parser.parse_args()
    quiet_logging()
    rows = run(args.quick, args.stores, args.data)
    title = "B3 queries, views up to date" + (" (quick)" if args.quick else "")
    show(rows, title)
    path = write_rows(
        "b3_queries_quick" if args.quick else "b3_queries",
        rows,
        ("eventsourcing", "psycopg", "pydantic"),
        events=QUICK_EVENTS if args.quick else FULL_EVENTS,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
