"""SPEC §9: a deliverer killed -9 at any moment loses and reorders nothing.

``ledger webhooks deliver`` runs as a real subprocess against a real receiver in this
process, while this process keeps writing. It is killed with SIGKILL at random moments
(mid-request included: the receiver answers slowly), restarted, sometimes under the
same name (it resumes at once) and sometimes under a new one (it takes the endpoint
over when the dead one's lease lapses). In the end the receiver must have every item,
in log order; the only repeats allowed are an item sent again right after a kill,
with the same ``webhook-id``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from ledger import Ledger, Money, Role
from tests.support import add_tenant, buy, partner
from tests.webhook_receiver import first_seen, running_receiver

SECRET = "a2lsbC10aGUtZGVsaXZlcmVyLXNlZS1pdC1yZXN1bWU="
BILLING = partner("bill", Role.ACCOUNT_ADMIN)
KILLS = 8
OPTIONS = ("--poll", "0.02", "--timeout", "1", "--lease", "2", "--first-retry", "0.05")


def collapsed(ids: list[str]) -> list[str]:
    """Runs of the same id as one: what is left when every redelivery follows its original."""
    return [each for n, each in enumerate(ids) if n == 0 or ids[n - 1] != each]


def start(url: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEDGER_URL": url, "LEDGER_SECRET_KEY": SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "webhooks", "deliver", *OPTIONS, "--name", name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_deliverer_killed_9_times_loses_and_reorders_nothing(
    durable_url: str, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(20261207)
    with running_receiver() as receiver, Ledger.open(durable_url, secret_key=SECRET) as led:
        led.add_webhook(BILLING, receiver.url("/hooks"))
        receiver.script["/hooks"] = [("sleep", 0.03)] * 10_000
        tenant_id = add_tenant(led)
        for _ in range(10):
            buy(led, tenant_id, unit_price=Money("10.00", "EUR"))
        writing = threading.Event()

        def keep_buying() -> None:
            while not writing.is_set():
                buy(led, tenant_id, unit_price=Money("10.00", "EUR"))
                writing.wait(0.04)

        writer = threading.Thread(target=keep_buying)
        writer.start()
        kills, name, before_each_kill = 0, "deliverer-0", []
        try:
            while kills < KILLS:
                seen = len(receiver.ids("/hooks"))
                process = start(durable_url, name)
                deadline = time.monotonic() + 30
                while len(receiver.ids("/hooks")) == seen and time.monotonic() < deadline:
                    time.sleep(0.01)  # until it is at work (a lease may have to lapse first)
                time.sleep(rng.uniform(0.0, 0.5))
                before_each_kill.append(len(receiver.ids("/hooks")))
                process.send_signal(signal.SIGKILL)
                process.wait()
                assert process.returncode == -signal.SIGKILL
                kills += 1
                if kills % 3 == 0:
                    name = f"deliverer-{kills}"  # a new one: waits for the lease to lapse
        finally:
            writing.set()
            writer.join()
        expected = [item.id for item in led.feed(BILLING, limit=1000).items]
        last = start(durable_url, "deliverer-last")
        try:
            received = receiver.wait_for("/hooks", len(expected), timeout=60)
        finally:
            last.send_signal(signal.SIGTERM)
            _, stderr = last.communicate(timeout=30)
        assert last.returncode == 0, stderr.decode()
    ids = receiver.ids("/hooks")
    assert received == expected
    assert first_seen(ids) == expected
    assert collapsed(ids) == expected, "an item came again after a later one"
    assert len(ids) - len(expected) <= KILLS, "more repeats than kills"
    delivering_when_killed = sum(
        later > earlier
        for earlier, later in zip([0, *before_each_kill], before_each_kill, strict=False)
    )
    assert delivering_when_killed == KILLS, "every kill hit a deliverer at work"
    store = durable_url.split(":", 1)[0]
    request.node.user_properties.append(
        (
            "races",
            f"webhooks on {store}: deliverer killed -9 {kills} times ({delivering_when_killed}"
            f" while delivering); {len(expected)} items, all delivered in log order,"
            f" {len(ids) - len(expected)} sent again after a kill",
        )
    )
