"""A billing system receives the ledger's items as signed webhooks.

Run: ``python examples/webhooks_to_invoicing.py`` (needs ``httpx`` and, on the receiving
side, ``standardwebhooks``: ``pip install standardwebhooks``). It starts an HTTP receiver
on 127.0.0.1 that verifies every request's signature with the Standard Webhooks library,
answers the first one with 503 (the deliverer retries it), and invoices each item once:
``webhook-id`` is the primary key of its invoice lines, so a redelivery changes nothing.
A `ledger.webhooks.Deliverer` delivers in a thread, as ``ledger webhooks deliver`` would
in its own process.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import UUID

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.testing import ManualClock
from ledger.webhooks import Backoff, Deliverer

AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="fabrikam")
BILLING = Actor(user="billing-sync", roles={Role.ACCOUNT_ADMIN}, partner_id="fabrikam")
SECRET = b"example-secret-key-32-bytes-long"
OFFICE = Product(
    product_id="DG7GMGF0D7FV",
    sku_id="0002",
    title="Office LTSC Professional Plus 2024",
    kind=ProductKind.PERPETUAL,
    versions=("2024",),
    languages=("en-US",),
    bitness=(64,),
)


class Invoicing:
    """The receiving side: verify, then write each item once."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute(
            "CREATE TABLE invoice_lines (webhook_id TEXT PRIMARY KEY, kind TEXT, amount TEXT)"
        )
        self.lock = threading.Lock()
        self.secret = ""
        self.answers = [503]  # the first request fails; then 204
        self.requests = 0

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            item = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return 401
        with self.lock:
            self.requests += 1
            if self.answers:
                return self.answers.pop(0)
            money = item["data"].get("total") or item["data"].get("amount")
            self.db.execute(
                "INSERT OR IGNORE INTO invoice_lines VALUES (?, ?, ?)",
                (headers["webhook-id"], item["type"], f"{money['amount']} {money['currency']}"),
            )
        return 204


def serve(invoicing: Invoicing) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = invoicing.receive(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(directory: Path) -> None:
    url = f"sqlite:///{directory / 'ledger.db'}"
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    tenant = UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e")
    invoicing = Invoicing(directory / "invoicing.db")
    server = serve(invoicing)
    with Ledger.open(url, secret_key=SECRET, clock=clock) as led:
        endpoint = led.add_webhook(
            BILLING,
            f"http://127.0.0.1:{server.server_address[1]}/ledger",
            types=["order.purchased", "credit.issued"],
        )
        assert endpoint.secret is not None
        invoicing.secret = endpoint.secret  # shown once: the billing system keeps it
        led.add_customer(AGENT, Customer(tenant, "contoso.example", "Contoso", "NL"))
        first = led.purchase(AGENT, tenant, OFFICE, 2, Money("249.00", "EUR"))
        led.purchase(AGENT, tenant, OFFICE, 1, Money("249.00", "EUR"))
        clock.advance(timedelta(days=2))
        led.cancel(AGENT, first)

        deliverer = Deliverer(
            url, secret_key=SECRET, poll_interval=0.05, backoff=Backoff(first=0.1)
        )
        stop = threading.Event()
        thread = threading.Thread(target=deliverer.run, kwargs={"until": stop})
        thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (status,) = deliverer.status()  # lag 0: every item got its 2xx and was stored
            if status.lag_items == 0:
                break
            time.sleep(0.05)
        stop.set()
        thread.join()
    server.shutdown()
    print(f"requests received: {invoicing.requests} (the first answered 503, then retried)")
    for kind, amount in invoicing.db.execute(
        "SELECT kind, amount FROM invoice_lines ORDER BY rowid"
    ):
        print(f"  {kind:<16} {amount}")
    print(f"endpoint at {status.cursor}, {status.lag_items} items waiting")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        main(Path(scratch))
