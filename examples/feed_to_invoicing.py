"""A billing system pulls the integration feed into its own invoicing database.

Run: ``python examples/feed_to_invoicing.py [DIRECTORY]`` (a temporary directory by
default). The ledger is a SQLite store; the invoicing side is a separate SQLite file
with a table of invoice lines and a one-row table holding the feed cursor. Each page
is applied and its cursor stored in ONE invoicing transaction, so a crash between
the two cannot happen: after a restart the consumer continues exactly where the
last committed page ended, and nothing is invoiced twice or missed. The item ``id``
is the primary key as a second guard (a page applied twice changes nothing).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.testing import ManualClock

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


def open_invoicing(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "CREATE TABLE IF NOT EXISTS invoice_lines (item_id TEXT PRIMARY KEY, order_id TEXT,"
        " kind TEXT, amount TEXT, currency TEXT, occurred_at TEXT)"
    )
    db.execute("CREATE TABLE IF NOT EXISTS feed_cursor (one INTEGER PRIMARY KEY, cursor TEXT)")
    return db


def sync(led: Ledger, db: sqlite3.Connection) -> int:
    """Apply every new purchase and credit; returns how many invoice lines were added."""
    row = db.execute("SELECT cursor FROM feed_cursor").fetchone()
    cursor = row[0] if row else None
    added = 0
    while True:
        page = led.feed(BILLING, after=cursor, types=["order.purchased", "credit.issued"])
        if not page.items:
            return added
        db.execute("BEGIN")
        for item in page.items:
            money = item.data["total"] if item.type == "order.purchased" else item.data["amount"]
            sign = "" if item.type == "order.purchased" else "-"
            added += db.execute(
                "INSERT OR IGNORE INTO invoice_lines VALUES (?,?,?,?,?,?)",
                (
                    item.id,
                    str(item.order_id),
                    item.type,
                    sign + money["amount"],
                    money["currency"],
                    item.occurred_at.isoformat(),
                ),
            ).rowcount
        db.execute("INSERT OR REPLACE INTO feed_cursor VALUES (1, ?)", (page.next_cursor,))
        db.execute("COMMIT")
        cursor = page.next_cursor


def main(directory: Path) -> None:
    url = f"sqlite:///{directory / 'ledger.db'}"
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    tenant = UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e")
    with Ledger.open(url, secret_key=SECRET, clock=clock) as led:
        led.add_customer(AGENT, Customer(tenant, "contoso.example", "Contoso", "NL"))
        first = led.purchase(AGENT, tenant, OFFICE, 2, Money("249.00", "EUR"))
        led.purchase(AGENT, tenant, OFFICE, 1, Money("249.00", "EUR"))

        invoicing = open_invoicing(directory / "invoicing.db")
        print(f"first sync: {sync(led, invoicing)} invoice lines")
        invoicing.close()  # the billing system restarts

        clock.advance(timedelta(days=2))
        led.cancel(AGENT, first)
        invoicing = open_invoicing(directory / "invoicing.db")
        print(f"after a restart and a cancellation: {sync(led, invoicing)} new invoice line")
        print(f"nothing new: {sync(led, invoicing)} invoice lines")
        for kind, amount, currency in invoicing.execute(
            "SELECT kind, amount, currency FROM invoice_lines ORDER BY rowid"
        ):
            print(f"  {kind:<16} {amount:>8} {currency}")
        cursor = invoicing.execute("SELECT cursor FROM feed_cursor").fetchone()[0]
        print(f"cursor kept by the invoicing database: {cursor}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
