"""What both benchmarks share: the local PostgreSQL, bare-eventsourcing store settings,
quiet logging and the JSON report."""

from __future__ import annotations

import json
import logging
import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import structlog

RESULTS_DIR = Path(__file__).resolve().parent / "results"
POSTGRES = {"host": "127.0.0.1", "port": "5432", "dbname": "test", "user": "postgres"}
POSTGRES_URL = (
    f"postgresql://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/{POSTGRES['dbname']}"
)
POSTGRES_CONNINFO = psycopg.conninfo.make_conninfo(**POSTGRES)
STORES = ("memory", "sqlite", "postgres")


def quiet_logging() -> None:
    """What the benchmarks measure by default: the library's info logs dropped."""
    structlog.reset_defaults()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def postgres_admin(statement: str) -> None:
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
        conn.execute(statement)


def postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_CONNINFO, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


# The ledger's memory:// is SQLite in memory with a shared cache; so are the baselines.
def memory_es_env(name: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:{name}?mode=memory&cache=shared",
    }


def sqlite_es_env(path: Path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "30",
    }


def postgres_es_env(schema: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": POSTGRES["dbname"],
        "POSTGRES_HOST": POSTGRES["host"],
        "POSTGRES_PORT": POSTGRES["port"],
        "POSTGRES_USER": POSTGRES["user"],
        "POSTGRES_PASSWORD": "",
        "POSTGRES_SCHEMA": schema,
    }


def write_report(
    path: Path, benchmark: str, packages: tuple[str, ...], body: dict[str, Any]
) -> None:
    """The JSON next to the printed table: when, how, on what, then the figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": benchmark,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
            **{package: version(package) for package in packages},
        },
        **body,
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
