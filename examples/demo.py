"""A partner buys software for a customer, hands out keys, cancels one order.

Runs on the embedded SQLite store (``build/demo/ledger.db``, recreated each
run) with an injected clock, so the output is the same every time except
for the generated licence key, which is shown masked.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import structlog
from rich.console import Console
from rich.table import Table

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.errors import LedgerError

DATABASE = Path("build/demo/ledger.db")
CONTOSO = UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e")
console = Console(width=132)


class DemoClock:
    """R16: an injected clock makes the demo (and any replay) deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def fresh_database() -> str:
    DATABASE.parent.mkdir(parents=True, exist_ok=True)
    for leftover in DATABASE.parent.glob(DATABASE.name + "*"):
        leftover.unlink()
    return f"sqlite:///{DATABASE}"


def mask(key: str) -> str:
    return key[:5] + "".join("-*****" for _ in key.split("-")[1:])


def refused(action: str, error: LedgerError) -> None:
    console.print(f"  [yellow]refused[/]: {action} → {type(error).__name__}: {error}")


def catalogue() -> tuple[Product, Product, Product, Product]:
    office = Product(
        product_id="DG7GMGF0D7FV",
        sku_id="0002",
        title="Office LTSC Professional Plus 2024",
        kind=ProductKind.PERPETUAL,
        versions=("2024",),
        languages=("en-US", "nl-NL"),
        bitness=(32, 64),
    )
    project = Product(
        product_id="CFQ7TTC0HDH0",
        sku_id="0001",
        title="Project Plan 3 (annual)",
        kind=ProductKind.SUBSCRIPTION,
        term_days=365,
    )
    suse = Product(
        product_id="DZH318Z0BQ3Q",
        sku_id="0003",
        title="SUSE Linux Enterprise Server plan",
        kind=ProductKind.SOFTWARE_PLAN,
    )
    reservation = Product(
        product_id="DZH318Z0BPS6",
        sku_id="00NC",
        title="Azure reserved VM instance",
        kind=ProductKind.AZURE_RESERVATION,
    )
    return office, project, suse, reservation


def show_views(led: Ledger, *, reader: Actor, customer: Actor) -> None:
    """The three projections: software list, activity log, monthly credits."""
    software = Table(title="Contoso's software list")
    for column in ("title", "qty", "total", "tax incl.", "status", "key", "cancellable until"):
        software.add_column(column)
    for item in led.software(customer, CONTOSO):
        software.add_row(
            item.title,
            str(item.quantity),
            str(item.total),
            "yes" if item.tax_inclusive else "no",
            item.status,
            "available" if item.key_available else "revoked",
            f"{item.cancellable_until:%Y-%m-%d %H:%M}" if item.cancellable_until else "never",
        )
    console.print(software)

    activity = Table(title="Activity log, November 2026 (read by gail)")
    for column in ("at (UTC)", "user", "action", "title"):
        activity.add_column(column)
    for entry in led.activity_log(reader, start=date(2026, 11, 1), end=date(2026, 11, 30)):
        activity.add_row(f"{entry.at:%Y-%m-%d %H:%M}", entry.user, entry.action, entry.title)
    console.print(activity)

    statement = led.monthly_credits(reader, "2026-11")
    credits = Table(title=f"Credits {statement.month}")
    for column in ("issued at (UTC)", "order", "reason", "amount"):
        credits.add_column(column)
    for line in statement.lines:
        credits.add_row(
            f"{line.issued_at:%Y-%m-%d %H:%M}",
            str(line.order_id)[:8],
            line.reason,
            str(line.amount),
        )
    for currency, total in statement.totals.items():
        credits.add_row("", "", f"total {currency}", str(total))
    console.print(credits)


def main() -> None:
    # Library logs are structured key-value events; the demo shows warnings only.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    clock = DemoClock()
    ann = Actor(user="ann@fabrikam", roles={Role.ADMIN_AGENT}, partner_id="fabrikam")
    gail = Actor(user="gail@fabrikam", roles={Role.GLOBAL_ADMIN}, partner_id="fabrikam")
    carol = Actor(user="carol@contoso", roles={Role.GLOBAL_ADMIN}, tenant_id=CONTOSO)

    office, project, suse, reservation = catalogue()

    url = fresh_database()
    console.rule(f"ledger demo on {url}")
    with Ledger.open(url, clock=clock) as led:
        led.add_customer(ann, Customer(CONTOSO, "contoso.example", "Contoso", "NL"))
        console.print("2026-11-02 ann buys for Contoso (NL):")
        # Idempotency keys (R12) make retries safe and the order ids reproducible.
        office_order = led.purchase(
            ann, CONTOSO, office, 2, Money("249.00", "EUR"), idempotency_key="contoso-office"
        )
        project_order = led.purchase(
            ann, CONTOSO, project, 5, Money("120.00", "EUR"), idempotency_key="contoso-project"
        )
        led.purchase(ann, CONTOSO, suse, 1, Money("80.00", "EUR"), idempotency_key="contoso-suse")
        try:
            led.purchase(ann, CONTOSO, office, 1, Money("249.00", "EUR"), activation="KMS")
        except LedgerError as error:
            refused("KMS activation", error)
        led.add_customer(ann, Customer(UUID(int=7), "tailspin.example", "Tailspin", "CN"))
        try:
            led.purchase(ann, UUID(int=7), reservation, 1, Money("900.00", "EUR"))
        except LedgerError as error:
            refused("Azure reservation in CN", error)

        key = led.view_key(ann, office_order)
        console.print(f"  ann views the Office key: {mask(key)} (masked here, never logged)")
        clock.now += timedelta(hours=3)
        link = led.download(carol, office_order, "2024", "nl-NL", 64)
        console.print(f"  carol (Contoso's global admin) downloads; link expires {link.expires_at}")
        led.copy_link(ann, office_order, "2024", "en-US", 64)

        clock.now += timedelta(days=10)
        status = led.cancellation_status(ann, project_order)
        console.print(
            f"{clock.now:%Y-%m-%d} Project Plan 3: cancellable={status.cancellable},"
            f" {status.days_left} days left"
        )
        cancellation = led.cancel(ann, project_order)
        console.print(
            f"  ann cancels it: credit {cancellation.credit}"
            f" on invoice {cancellation.invoice_month}"
        )
        try:
            led.view_key(carol, project_order)
        except LedgerError as error:
            refused("carol, key", error)

        show_views(led, reader=gail, customer=carol)


if __name__ == "__main__":
    main()
