"""Store fixtures: every behaviour test runs on memory, SQLite and PostgreSQL.

PostgreSQL runs whenever it is reachable at ``LEDGER_TEST_POSTGRES_URL``
(default: the local server). Under ``CI=true`` an unreachable server fails
the run instead of skipping it. Each test gets its own schema, dropped after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings

from ledger import Ledger
from ledger.testing import scratch_store
from ledger.testing.plugin import PROFILES
from tests.support import ManualClock

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
STORES = ["memory", "sqlite", "postgres"]

# The plugin's profiles (ledger.testing.plugin), as users get them: under CI every @given
# test is derandomized (a fixed seed per test) and prints a reproduce blob on failure;
# locally hypothesis explores with fresh seeds.
PROFILE = "ledger-ci" if IN_CI else "ledger-dev"
assert PROFILE in PROFILES
settings.load_profile(PROFILE)


@cache
def postgres_problem() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"
    return None


def require_postgres() -> str:
    """The server URL (no schema); fails under CI and skips elsewhere when it is down."""
    problem = postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {problem}")
        pytest.skip(problem)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    require_postgres()
    # The PostgreSQL key file goes under XDG_CONFIG_HOME: keep it with the test.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with scratch_store(POSTGRES_URL) as url:
        yield url


def url_for(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store == "memory":
        return "memory://"
    if store == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(request.param, tmp_path, request)


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store that outlives its Ledger: for reopening, processes and raw-store checks."""
    return url_for(request.param, tmp_path, request)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def led(store_url: str, clock: ManualClock) -> Iterator[Ledger]:
    with Ledger.open(store_url, clock=clock) as ledger:
        yield ledger


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the figures tests recorded: state-machine runs, fuzzed inputs, races and crashes."""
    sections = {
        "state_machine": "ledger.testing state machine",
        "fuzz": "R15 fuzz: generated bad inputs",
        "races": "races, crashes and store faults",
        "secrets": "R14: keys looked for everywhere",
    }
    for key, title in sections.items():
        lines = [
            str(value)
            for report in terminalreporter.stats.get("passed", [])
            for name, value in getattr(report, "user_properties", ())
            if name == key
        ]
        if lines:
            terminalreporter.section(title)
            for line in sorted(lines):
                terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long state-machine runs first, so that the short tests fill in beside them."""
    items.sort(key=lambda item: "test_state_machine.py" not in item.nodeid)
