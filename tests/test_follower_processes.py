"""§6 across processes: a writer, followers (``ledger views follow``) and a reader with
views="follower", on SQLite and PostgreSQL; followers killed with SIGKILL mid-batch and
restarted lose and double nothing (the views equal a rebuild)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from ledger import Ledger, Role
from ledger.aggregates import Licence
from tests.support import START, partner, tenant_with_order

READER = partner("gail", Role.GLOBAL_ADMIN)
WHOLE = (date(2020, 1, 1), date(2030, 1, 1))
SECRET = "c2VjcmV0LWtleS1mb3ItZm9sbG93ZXItdGVzdHMtMzI="  # 32 bytes, urlsafe base64
ROOT = Path(__file__).resolve().parent.parent


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGER_URL": url,
        "LEDGER_SECRET_KEY": SECRET,
        "PYTHONPATH": str(ROOT),
    }


@contextmanager
def follower(url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "views", "follow", "--poll-interval", "0.01"],
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


WRITER = textwrap.dedent(
    """
    import os
    import sys
    from datetime import date
    from ledger import Ledger, Role
    from tests.support import AGENT, partner, tenant_with_order

    reader = partner("gail", Role.GLOBAL_ADMIN)
    count = int(sys.argv[1])
    with Ledger.open(os.environ["LEDGER_URL"], views="follower", views_timeout=30) as led:
        _, order = tenant_with_order(led)
        for n in range(1, count + 1):
            led.view_key(AGENT, order)
            if n % 10 == 0:  # read-your-writes through the follower
                seen = len(led.activity_log(reader, date(2020, 1, 1), date(2030, 1, 1)))
                assert seen >= n, (seen, n)
    print("written", count)
    """
)


def write(url: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(count)],
        env=_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError("timed out")


def test_s6_writer_follower_and_reader_processes(durable_url: str) -> None:
    with follower(durable_url), follower(durable_url):
        writer = write(durable_url, 60)
        with Ledger.open(durable_url, secret_key=SECRET, views="follower") as reader:
            _, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, err.decode()
            wait_for(lambda: len(reader.activity_log(READER, *WHOLE)) == 60)
            wait_for(lambda: reader.views_status().lag_events == 0)
    with Ledger.open(durable_url, secret_key=SECRET) as led:
        report = led.audit.rebuild()
        assert report.matches, report.differences
        assert report.rows["ledger_activity"] == 60
        assert led.audit.verify().ok


@pytest.mark.parametrize("kills", [3])
def test_s6_a_follower_killed_mid_batch_loses_and_doubles_nothing(
    durable_url: str, kills: int
) -> None:
    total = 10000
    with Ledger.open(durable_url, secret_key=SECRET, views="follower") as led:
        _, order = tenant_with_order(led)
        # The key views a view_key command records, 500 to a transaction (a follower
        # applies 5,000 per transaction, so there are several batches to be killed in).
        licence = led._uow.get(Licence.id_for(order), Licence)
        assert licence is not None
        for start in range(0, total, 500):
            led._uow.save(*(licence.view_key("ann", START) for _ in range(start, start + 500)))
        head = led.views_status().head
        stopped_short = 0
        for kill in range(kills):
            before = led.views_status().position
            if before == head:
                break
            with follower(durable_url) as process:
                # Let it commit at least one batch, then kill it while it is in the next.
                wait_for(lambda at=before: led.views_status().position > at, timeout=30)
                time.sleep(0.01 * kill)
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
            position = led.views_status().position
            assert before < position <= head
            stopped_short += position < head
        assert stopped_short, "no follower was killed before the end of the log"
        with follower(durable_url):
            wait_for(lambda: led.views_status().position == head, timeout=60)
    with Ledger.open(durable_url, secret_key=SECRET) as led:
        report = led.audit.rebuild()
        assert report.matches, report.differences
        assert report.rows["ledger_activity"] == total
        assert len(led.activity_log(READER, *WHOLE, limit=10000)) == total
        assert led.audit.verify().ok
