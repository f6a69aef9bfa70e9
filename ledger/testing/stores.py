"""A throw-away store per test run, and a quiet ledger on it: each example starts empty."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import psycopg
import structlog

from ledger.application import Ledger
from ledger.errors import InvalidInput
from ledger.policies.cancellation import CancellationPolicy
from ledger.stores import parse_store_url

__all__ = ["SILENT", "open_test_ledger", "scratch_store"]

#: A structlog logger that drops everything: thousands of generated commands
#: would otherwise bury the one failing sequence in ``ledger.command`` lines.
SILENT = structlog.wrap_logger(
    structlog.PrintLogger(), wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL)
)


def open_test_ledger(
    url: str,
    clock: Callable[[], datetime],
    policy: CancellationPolicy | None = None,
    earlier_policies: Sequence[CancellationPolicy] = (),
    *,
    secret_key: bytes | None = None,
) -> Ledger:
    """A `Ledger` with no log output and a throw-away data key (or ``secret_key``, to open
    the same store again)."""
    return Ledger.open(
        url,
        clock=clock,
        cancellation_policy=policy,
        earlier_policies=earlier_policies,
        secret_key=secret_key or os.urandom(32),
        logger=SILENT,
    )


@contextlib.contextmanager
def scratch_store(store: str) -> Iterator[str]:
    """Yield a store URL that nothing else uses, and remove it afterwards.

    ``"memory"``/``memory://`` → a private in-memory store; ``"sqlite"`` → a
    file in a new temporary directory; ``sqlite:///dir/name.db`` → a new
    file beside that path (the path itself is never touched); a
    ``postgresql://`` URL → a new schema in that database, dropped on exit.
    """
    if store in ("memory", "memory://"):
        yield "memory://"
    elif store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledger-testing-") as directory:
            yield f"sqlite:///{Path(directory) / 'ledger.db'}"
    elif store.startswith("sqlite:///"):
        given = Path(store.removeprefix("sqlite:///"))
        fresh = given.with_name(f"{given.stem}-{secrets.token_hex(6)}.db")
        try:
            yield f"sqlite:///{fresh}"
        finally:
            for leftover in fresh.parent.glob(f"{fresh.name}*"):  # -wal, -shm, .key
                leftover.unlink(missing_ok=True)
    elif store.startswith(("postgresql://", "postgres://")):
        if "schema=" in store:
            raise InvalidInput("store", "leave out schema=: every run gets its own schema")
        schema = f"ledger_testing_{secrets.token_hex(6)}"
        url = f"{store}{'&' if '?' in store else '?'}schema={schema}"
        dsn = parse_store_url(url).postgres_dsn
        assert dsn is not None
        try:
            yield url
        finally:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    else:
        raise InvalidInput(
            "store", f"{store!r}: use 'memory', 'sqlite', a sqlite:/// or a postgresql:// URL"
        )
