"""A PostgreSQL server of a test's own, which it may stop, restart and block.

Built with the Debian server's own ``initdb`` and ``pg_ctl`` (run as the
``postgres`` user when the tests run as root), on a free port, trust auth.
Under ``CI=true`` a machine without them fails the test; elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import IN_CI

__all__ = ["PrivatePostgres", "private_postgres", "silent_server", "streaming_replica"]


def _bin_dir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    def __init__(self, bin_dir: Path, data: Path, port: int) -> None:
        self.bin_dir, self.data, self.port = bin_dir, data, port

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w",
            "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def sql(self, statement: str) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        problem = "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql"
        if IN_CI:
            pytest.fail(f"CI=true requires them: {problem}")
        pytest.skip(problem)
    root = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    server = PrivatePostgres(bin_dir, data, _free_port())
    server._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def streaming_replica(primary: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """A hot standby of ``primary`` (``pg_basebackup -R``: streaming replication)."""
    root = Path(tempfile.mkdtemp(prefix="ledger-pg-replica-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    replica = PrivatePostgres(primary.bin_dir, data, _free_port())
    replica._run(
        "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", str(data), "-R", "-X", "stream", "--no-sync",
    )  # fmt: skip
    replica.start()
    try:
        yield replica
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            replica.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word: its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def wait_until_up(server: PrivatePostgres, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            server.sql("SELECT 1")
            return
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
