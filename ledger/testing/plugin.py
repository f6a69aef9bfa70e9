"""The ``ledger`` pytest plugin: scratch stores, a manual clock, a ledger, hypothesis profiles.

Installed with the package (entry point ``pytest11: ledger``), so a suite that
has ``ledger[testing]`` gets, without a conftest:

* ``ledger_store`` — a fresh store URL per test, once per store named by
  ``--ledger-stores`` (default ``memory,sqlite,postgresql``); removed afterwards;
* ``ledger_memory_store``, ``ledger_sqlite_store``, ``ledger_postgres_store`` — one each;
* ``ledger_clock`` — a `ManualClock` at `START`;
* ``scratch_ledger`` — a quiet `Ledger` on ``ledger_store`` with ``ledger_clock``,
  a throw-away key, closed afterwards.

PostgreSQL comes from ``--ledger-postgres URL`` or ``$LEDGER_TEST_POSTGRES_URL``
(a schema per test, dropped after). Without one its tests are skipped, unless
``--ledger-require-postgres`` (or ``CI=true``) makes that a failure.

Hypothesis profiles, chosen with ``--hypothesis-profile``: ``ledger-dev`` (no
deadline: a ledger step is milliseconds, and the first one opens a store) and
``ledger-ci`` (also derandomized, no example database, a reproduce blob on
failure), so a CI run is the same run every time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["PROFILES"]

#: The profiles this plugin registers with hypothesis, by name.
PROFILES: dict[str, dict[str, Any]] = {
    "ledger-dev": {"deadline": None},
    "ledger-ci": {"deadline": None, "derandomize": True, "database": None, "print_blob": True},
}
STORES = ("memory", "sqlite", "postgresql")


def _register_profiles() -> None:
    try:
        from hypothesis import settings  # noqa: PLC0415 (ledger[testing] may be absent)
    except ImportError:
        return
    for name, options in PROFILES.items():
        settings.register_profile(name, **options)


# At import, before hypothesis's own plugin loads the profile --hypothesis-profile names.
_register_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ledger", "ledger.testing stores")
    group.addoption(
        "--ledger-stores",
        default=",".join(STORES),
        help="stores ledger_store runs each test on: memory,sqlite,postgresql (default all)",
    )
    group.addoption(
        "--ledger-postgres",
        default=os.environ.get("LEDGER_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL for the store fixtures (default $LEDGER_TEST_POSTGRES_URL)",
    )
    group.addoption(
        "--ledger-require-postgres",
        action="store_true",
        default=os.environ.get("CI", "").lower() in {"1", "true", "yes"},
        help="fail, not skip, a PostgreSQL test without a server (default: on when CI=true)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ledger_store" in metafunc.fixturenames:
        chosen = [s.strip() for s in metafunc.config.getoption("ledger_stores").split(",")]
        unknown = [s for s in chosen if s not in STORES]
        if unknown:
            raise pytest.UsageError(f"--ledger-stores: unknown {unknown}; use {','.join(STORES)}")
        metafunc.parametrize("ledger_store", chosen, indirect=True)


def _postgres_server(config: pytest.Config) -> str:
    url: str | None = config.getoption("ledger_postgres")
    if url:
        return url
    problem = "no PostgreSQL server: pass --ledger-postgres URL or set LEDGER_TEST_POSTGRES_URL"
    if config.getoption("ledger_require_postgres"):
        pytest.fail(problem)
    pytest.skip(problem)


def _scratch(kind: str, config: pytest.Config) -> Iterator[str]:
    from ledger.testing.stores import scratch_store  # noqa: PLC0415 (needs ledger[testing])

    server = _postgres_server(config) if kind == "postgresql" else kind
    with scratch_store(server) as url:
        yield url


@pytest.fixture
def ledger_store(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh store URL, once per store of ``--ledger-stores``."""
    yield from _scratch(getattr(request, "param", "memory"), request.config)


@pytest.fixture
def ledger_memory_store(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _scratch("memory", request.config)


@pytest.fixture
def ledger_sqlite_store(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _scratch("sqlite", request.config)


@pytest.fixture
def ledger_postgres_store(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _scratch("postgresql", request.config)


@pytest.fixture
def ledger_clock() -> Any:
    """A `ManualClock` at `START`: time moves only when the test moves it."""
    from ledger.testing.clock import ManualClock  # noqa: PLC0415

    return ManualClock()


@pytest.fixture
def scratch_ledger(ledger_store: str, ledger_clock: Any) -> Iterator[Any]:
    """A quiet `Ledger` on ``ledger_store`` with ``ledger_clock``; closed afterwards."""
    from ledger.testing.stores import open_test_ledger  # noqa: PLC0415

    with open_test_ledger(ledger_store, ledger_clock) as opened:
        yield opened
