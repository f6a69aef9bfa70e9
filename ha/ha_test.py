"""``make ha-test``: writers, a follower and a webhook deliverer through a failover (SPEC §12).

On the cluster of ``ha/cluster.sh`` (``make ha-up``): three writer processes buy
with idempotency keys, a follower (``ledger views follow``) keeps the views and a
deliverer (``ledger webhooks deliver``) posts each purchase to a local receiver.
After `KILL_AFTER` seconds the primary's postmaster is killed -9; Patroni
promotes a synchronous replica, and everyone carries on against it through the
multi-host URL, without a restart. A writer whose call fails sends the same
idempotency key again until it is acknowledged, so an outcome it could not see
is never doubled.

Then, on the new primary: every acknowledged order is there (lost), none is
there twice or unasked for (doubled), the views hold every event, and the
receiver got every purchase. Prints ``acknowledged N, lost L, doubled D, resumed
in S s`` and the figures, writes them to ``benchmarks/results/full/ha_test.json``
(appending this run), and exits 1 on any loss, doubling or missing delivery.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from uuid import UUID

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role  # noqa: E402
from ledger.errors import LedgerError  # noqa: E402
from ledger.logging import json_logger  # noqa: E402
from tests.webhook_receiver import running_receiver  # noqa: E402

CLUSTER = "postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442,127.0.0.1:5443/postgres"
#: A schema of its own per run (``ledger_ha_<time>``): every run starts from an empty store.
RUN = os.environ.setdefault("LEDGER_HA_RUN", time.strftime("%Y%m%d%H%M%S"))  # the writers too
URL = f"{CLUSTER}?target_session_attrs=read-write&schema=ledger_ha_{RUN}&connect_timeout=2"
#: Purchases a second per writer: a busy billing system, and what one deliverer keeps up with.
RATE = 40.0
KEY = "aGEtdGVzdC1rZXktbm90LWEtc2VjcmV0LTMyYnl0ZXM="  # a test key (32 bytes), not a secret
AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
TENANT = UUID("00000000-0000-4000-8000-0000000000aa")
WRITERS = 3
SECONDS = 30.0
KILL_AFTER = 8.0
OFFICE = Product(
    product_id="DG7GMGF0D7FV", sku_id="0002", title="Office LTSC 2024", kind=ProductKind.PERPETUAL
)
RESULTS = ROOT / "benchmarks" / "results" / "full" / "ha_test.json"
QUIET = json_logger(open(os.devnull, "w"))  # noqa: SIM115  # lives as long as the process


def writer(run: str, number: int, seconds: float, out: Path) -> None:
    """Buy as fast as the cluster lets us; write each acknowledged order as a JSON line."""
    led = _open_retrying()
    started = time.time()
    stop = started + seconds
    sent = 0
    with out.open("a", encoding="utf-8") as handle:
        while time.time() < stop:
            key = f"{run}-w{number}-{sent}"
            while True:
                try:
                    order_id = led.purchase(AGENT, TENANT, OFFICE, 1, Money("10.00", "EUR"), key)
                    break
                except LedgerError as error:  # StoreUnavailable: send the same key again
                    handle.write(
                        json.dumps(
                            {"failed": key, "at": time.time(), "error": type(error).__name__}
                        )
                        + "\n"
                    )
                    handle.flush()
                    time.sleep(0.1)
            handle.write(json.dumps({"key": key, "order": str(order_id), "at": time.time()}) + "\n")
            handle.flush()
            sent += 1
            time.sleep(max(0.0, started + sent / RATE - time.time()))
    led.close()


def _open_retrying() -> Ledger:
    for _ in range(100):
        try:
            return Ledger.open(URL, secret_key=KEY, logger=QUIET, views="follower")
        except LedgerError:
            time.sleep(0.2)
    raise SystemExit("cannot open the cluster")


def _base() -> Path:
    return Path(os.environ.get("LEDGER_HA_DIR", "/tmp/ledger-ha"))


def kill_primary() -> str:
    """Kill -9 the primary's Patroni and its postmaster, as a machine lost would be."""
    name, postmaster = leader()
    config = str(_base() / name / "patroni.yml")
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            command = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if config.encode() in command and any(b"patroni" in part for part in command[:2]):
            os.kill(int(process.name), signal.SIGKILL)
    os.kill(postmaster, signal.SIGKILL)
    return name


def leader() -> tuple[str, int]:
    """The primary's name and its postmaster's pid, from Patroni's REST API."""
    for port in (8441, 8442, 8443):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/cluster", timeout=2) as reply:
                members = json.load(reply)["members"]
        except OSError:
            continue
        for member in members:
            if member["role"] == "leader":
                name = member["name"]
                pid = int((_base() / name / "data" / "postmaster.pid").read_text().split()[0])
                return name, pid
    raise SystemExit("no leader: is the cluster up (make ha-up)?")


def main() -> int:  # noqa: PLR0915  # one story, told in order
    work = _base() / "run"
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("writer-*.jsonl"):
        old.unlink()
    run = time.strftime("%Y%m%dT%H%M%S")
    env = {**os.environ, "LEDGER_SECRET_KEY": KEY, "LEDGER_URL": URL}
    ledger_cli = str(Path(sys.executable).with_name("ledger"))
    with running_receiver() as receiver:
        with Ledger.open(URL, secret_key=KEY, logger=QUIET) as led:
            if TENANT not in {c.tenant_id for c in led.customers(AGENT)}:
                led.add_customer(AGENT, Customer(TENANT, "ha.example", "HA", "NL"))
            for endpoint in led.webhooks(AGENT):
                led.remove_webhook(AGENT, endpoint.id)
            led.add_webhook(AGENT, receiver.url("/ha"), types=["order.purchased"])
            before = {item.order_id for item in led.software(AGENT, TENANT)}
        helpers = [
            subprocess.Popen(
                [ledger_cli, "views", "follow", "--poll-interval", "0.5"],
                env=env,
                stderr=(work / "follower.log").open("w"),
            ),
            subprocess.Popen(
                [ledger_cli, "webhooks", "deliver", "--name", "ha-1", "--lease", "5"],
                env=env,
                stderr=(work / "deliverer.log").open("w"),
            ),
        ]
        writers = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--writer",
                    run,
                    str(n),
                    str(SECONDS),
                    str(work / f"writer-{n}.jsonl"),
                ],
                stderr=(work / f"writer-{n}.log").open("w"),
            )
            for n in range(WRITERS)
        ]
        time.sleep(KILL_AFTER)
        killed_at = time.time()
        killed = kill_primary()
        print(f"killed -9 the primary {killed} (Patroni and postmaster)", flush=True)
        for process in writers:
            process.wait(timeout=SECONDS + 120)
        ended_at = time.time()
        acknowledged: dict[str, str] = {}
        failures: list[float] = []
        acked_at: list[float] = []
        for n in range(WRITERS):
            lines = [
                json.loads(text) for text in (work / f"writer-{n}.jsonl").read_text().splitlines()
            ]
            acknowledged.update({line["key"]: line["order"] for line in lines if "key" in line})
            failures += [line["at"] for line in lines if "failed" in line]
            acked_at += [line["at"] for line in lines if "key" in line]
        new_leader, _ = leader()
        with Ledger.open(URL, secret_key=KEY, logger=QUIET, views="follower") as led:
            deadline = time.time() + 60
            status = led.views_status()
            while status.position < status.head and time.time() < deadline:
                time.sleep(0.1)
                status = led.views_status()
            views_caught_up = time.time() - ended_at
        # Lost or doubled is asked of the history itself: an inline ledger applies whatever
        # the follower has not (yet) before it answers.
        with Ledger.open(URL, secret_key=KEY, logger=QUIET) as led:
            present = [
                item.order_id for item in led.software(AGENT, TENANT) if item.order_id not in before
            ]
        expected = set(acknowledged.values())
        present_ids = {str(order_id) for order_id in present}
        lost = len(expected - present_ids)
        doubled = len(present) - len(present_ids)
        unasked = len(
            present_ids - expected
        )  # bought, never acknowledged: a retry in flight at the end
        delivered_ids = set()
        deadline = time.time() + 60
        while time.time() < deadline:
            delivered_ids = {body.item["order_id"] for body in receiver.bodies("/ha")}
            if expected <= delivered_ids:
                break
            time.sleep(0.2)
        undelivered = len(expected - delivered_ids)
        for process in helpers:
            process.send_signal(signal.SIGTERM)
        for process in helpers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    outage = (max(failures) - min(failures)) if failures else 0.0
    # The failover: the longest pause between two acknowledgements (any writer) after the kill.
    times = sorted(acked_at)
    gaps = [(b - a, b) for a, b in itertools.pairwise(times) if b > killed_at]
    pause, back_at = max(gaps) if gaps else (0.0, killed_at)
    resumed = back_at - killed_at
    figures: dict[str, Any] = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "killed": killed,
        "new_primary": new_leader,
        "acknowledged": len(acknowledged),
        "lost": lost,
        "doubled": doubled,
        "bought_not_acknowledged": unasked,
        "undelivered": undelivered,
        "failed_calls": len(failures),
        "resumed_seconds": round(resumed, 2),
        "longest_pause_seconds": round(pause, 2),
        "failed_calls_span_seconds": round(outage, 2),
        # The share of the run in which writes were acknowledged (the pause is the failover).
        "write_availability": round(1 - pause / SECONDS, 3),
        "views_caught_up_after_writes_seconds": round(views_caught_up, 2),
    }
    print(
        f"acknowledged {figures['acknowledged']}, lost {lost}, doubled {doubled}, "
        f"resumed in {figures['resumed_seconds']} s"
    )
    print(json.dumps(figures, indent=2))
    runs = json.loads(RESULTS.read_text())["runs"] if RESULTS.exists() else []
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"benchmark": "ha_test", "runs": [*runs, figures]}, indent=2) + "\n"
    )
    # The killed member comes back as a replica (pg_rewind), ready for the next run.
    subprocess.run([str(HERE / "cluster.sh"), "up"], check=False)
    ok = lost == 0 and doubled == 0 and unasked == 0 and undelivered == 0 and bool(gaps)
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--writer":
        writer(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
    else:
        sys.exit(main())
