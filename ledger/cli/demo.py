"""``ledger demo``: a realistic month in a fresh store, then the three views.

A reseller (fabrikam) sells to six customers in five markets and currencies
during October and November 2026: perpetual licences, subscriptions, a
software plan and an Azure reservation. Keys are viewed, software downloaded
and links copied; a KMS activation, a reservation in a blocked market and a
cancellation past its window are refused; a subscription is cancelled for a
prorated credit; a refund is requested past the window and approved by
support. Then it prints the software lists, November's activity log and
November's credits.

The clock is injected and the order ids derive from idempotency keys, so
every run prints the same, except the licence key, which is random and shown
masked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.cli.errors import reported
from ledger.errors import InvalidInput, LedgerError

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

PARTNER = "fabrikam"
ANN = Actor(user="ann@fabrikam", roles={Role.ADMIN_AGENT}, partner_id=PARTNER)
GAIL = Actor(user="gail@fabrikam", roles={Role.GLOBAL_ADMIN}, partner_id=PARTNER)
SID = Actor(user="sid@fabrikam", roles={Role.SALES_AGENT}, partner_id=PARTNER)
SAM = Actor(user="sam@vendor", roles={Role.SUPPORT})

CONTOSO = Customer(UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e"), "contoso.example", "Contoso", "NL")
FOURTH_COFFEE = Customer(
    UUID("0c9d6e5f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"), "fourthcoffee.example", "Fourth Coffee", "AU"
)
WINGTIP = Customer(
    UUID("7e8f9a0b-2c3d-4e5f-9a6b-7c8d9e0f1a2b"), "wingtiptoys.example", "Wingtip Toys", "JP"
)
TAILSPIN = Customer(
    UUID("3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d"), "tailspin.example", "Tailspin", "US"
)
NORTHWIND = Customer(
    UUID("9f8e7d6c-5b4a-4392-8e1f-0a9b8c7d6e5f"), "northwind.example", "Northwind", "BR"
)
WOODGROVE = Customer(
    UUID("5d6e7f80-9a1b-4c2d-9e3f-4a5b6c7d8e9f"), "woodgrove.example", "Woodgrove", "CN"
)
CUSTOMERS = (CONTOSO, FOURTH_COFFEE, WINGTIP, TAILSPIN, NORTHWIND, WOODGROVE)
CAROL = Actor(user="carol@contoso", roles={Role.GLOBAL_ADMIN}, tenant_id=CONTOSO.tenant_id)

OFFICE = Product(
    product_id="DG7GMGF0D7FV",
    sku_id="0002",
    title="Office LTSC Professional Plus 2024",
    kind=ProductKind.PERPETUAL,
    versions=("2024",),
    languages=("en-US", "nl-NL", "ja-JP"),
    bitness=(32, 64),
)
WINDOWS_SERVER = Product(
    product_id="DG7GMGF0D5RK",
    sku_id="0007",
    title="Windows Server 2025 Standard",
    kind=ProductKind.PERPETUAL,
    versions=("2025",),
    languages=("en-US",),
    bitness=(64,),
)
PROJECT = Product(
    product_id="CFQ7TTC0HDH0",
    sku_id="0001",
    title="Project Plan 3 (annual)",
    kind=ProductKind.SUBSCRIPTION,
    term_days=365,
)
SUSE = Product(
    product_id="DZH318Z0BQ3Q",
    sku_id="0003",
    title="SUSE Linux Enterprise Server plan",
    kind=ProductKind.SOFTWARE_PLAN,
)
RESERVATION = Product(
    product_id="DZH318Z0BPS6",
    sku_id="00NC",
    title="Azure reserved VM instance (1 year)",
    kind=ProductKind.AZURE_RESERVATION,
)


class DemoClock:
    """R16: an injected clock makes the demo (and any replay) deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def on(self, day: date, hour: int = 9) -> str:
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        return f"{self.now:%Y-%m-%d}"


def mask(key: str) -> str:
    """The first group of a licence key; the demo never prints a whole one."""
    return key[:5] + "".join("-*****" for _ in key.split("-")[1:])


class Story:
    """Prints what happens, one line per step."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def day(self, when: str, text: str) -> None:
        self.console.print(f"[bold]{when}[/bold] {text}", soft_wrap=True)

    def step(self, text: str) -> None:
        self.console.print(f"  {text}", soft_wrap=True)

    def refused(self, action: str, error: LedgerError) -> None:
        self.console.print(
            f"  [yellow]refused[/]: {action} → {type(error).__name__}: {error}", soft_wrap=True
        )


def demo(ctx: typer.Context) -> None:
    """Fill a FRESH store with a realistic month of orders and print the three views.

    Six customers in five markets (EUR, AUD, JPY, USD, BRL), key views,
    downloads, refusals, a cancellation and a refund. The store must hold no
    events yet; afterwards, explore it with the other commands.

    Example: ledger --url sqlite:///demo.db demo
    """
    settings: Settings = ctx.obj
    console = Console(width=132, highlight=False)
    clock = DemoClock()
    with settings.open(clock=clock) as led, reported():
        head = led.views_status().head
        if head:
            raise InvalidInput(
                "--url",
                f"{settings.url} holds {head} events already: the demo fills a fresh store"
                " (give --url a new file, e.g. sqlite:///demo.db)",
            )
        console.rule(f"ledger demo on {settings.url}")
        run_month(led, clock, Story(console))
        show_views(led, console)
    console.print(
        "\nExplore it, e.g.:\n"
        f"  ledger --url {settings.url} --as gail@fabrikam --role GLOBAL_ADMIN"
        " --partner fabrikam credits --month 2026-11"
    )


def run_month(led: Ledger, clock: DemoClock, story: Story) -> None:
    """October's history, then November: every command the views below are built from."""
    wingtip_office, tailspin_server = october(led, clock, story)
    contoso_project = early_november(led, clock, story, tailspin_server)
    late_november(led, clock, story, contoso_project, wingtip_office, tailspin_server)


def october(led: Ledger, clock: DemoClock, story: Story) -> tuple[UUID, UUID]:
    """Customers registered, and two orders whose windows close in November."""
    when = clock.on(date(2026, 10, 1))
    for customer in CUSTOMERS:
        led.add_customer(SID, customer)
    story.day(when, f"sid registers {len(CUSTOMERS)} customers for fabrikam")

    when = clock.on(date(2026, 10, 5))
    wingtip_office = led.purchase(
        ANN, WINGTIP.tenant_id, OFFICE, 3, Money("45000", "JPY"), idempotency_key="wingtip-office"
    )
    story.day(when, "ann buys 3 × Office for Wingtip Toys (JP) at 45000 JPY")
    when = clock.on(date(2026, 10, 20))
    tailspin_server = led.purchase(
        ANN,
        TAILSPIN.tenant_id,
        WINDOWS_SERVER,
        1,
        Money("1069.00", "USD"),
        idempotency_key="tailspin-server",
    )
    story.day(when, "ann buys Windows Server for Tailspin (US) at 1069.00 USD")
    return wingtip_office, tailspin_server


def early_november(led: Ledger, clock: DemoClock, story: Story, tailspin_server: UUID) -> UUID:
    """Orders in four markets, refusals, keys viewed, software downloaded, links copied."""
    when = clock.on(date(2026, 11, 2))
    story.day(when, "ann buys for Contoso (NL):")
    contoso_office = led.purchase(
        ANN, CONTOSO.tenant_id, OFFICE, 2, Money("249.00", "EUR"), idempotency_key="contoso-office"
    )
    contoso_project = led.purchase(
        ANN,
        CONTOSO.tenant_id,
        PROJECT,
        5,
        Money("120.00", "EUR"),
        idempotency_key="contoso-project",
    )
    led.purchase(
        ANN, CONTOSO.tenant_id, SUSE, 1, Money("80.00", "EUR"), idempotency_key="contoso-suse"
    )
    story.step("2 × Office, 5 × Project Plan 3, a SUSE plan")
    try:
        led.purchase(ANN, CONTOSO.tenant_id, OFFICE, 1, Money("249.00", "EUR"), activation="KMS")
    except LedgerError as error:
        story.refused("KMS activation", error)
    try:
        led.purchase(ANN, WOODGROVE.tenant_id, RESERVATION, 1, Money("900.00", "USD"))
    except LedgerError as error:
        story.refused("a reservation for Woodgrove (CN)", error)
    key = led.view_key(ANN, contoso_office)
    story.step(f"ann views the Office key: {mask(key)} (masked here, never logged)")
    clock.now += timedelta(hours=3)
    link = led.download(CAROL, contoso_office, "2024", "nl-NL", 64)
    story.step(f"carol (Contoso's global admin) downloads; the link expires {link.expires_at}")
    led.copy_link(ANN, contoso_office, "2024", "en-US", 64)

    when = clock.on(date(2026, 11, 3))
    led.purchase(
        ANN,
        TAILSPIN.tenant_id,
        RESERVATION,
        1,
        Money("1200.00", "USD"),
        idempotency_key="tailspin-reservation",
    )
    led.download(ANN, tailspin_server, "2025", "en-US", 64)
    story.day(when, "ann buys a reservation for Tailspin (US) and downloads its Windows Server")
    when = clock.on(date(2026, 11, 4))
    coffee_office = led.purchase(
        ANN,
        FOURTH_COFFEE.tenant_id,
        OFFICE,
        4,
        Money("429.00", "AUD"),
        idempotency_key="coffee-office",
    )
    led.view_key(ANN, coffee_office)
    story.day(when, "ann buys 4 × Office for Fourth Coffee (AU, prices include tax)")
    when = clock.on(date(2026, 11, 5))
    led.purchase(
        ANN,
        NORTHWIND.tenant_id,
        PROJECT,
        2,
        Money("690.00", "BRL"),
        idempotency_key="northwind-project",
    )
    story.day(when, "ann buys 2 × Project Plan 3 for Northwind (BR, prices include tax)")
    return contoso_project


def late_november(
    led: Ledger,
    clock: DemoClock,
    story: Story,
    contoso_project: UUID,
    wingtip_office: UUID,
    tailspin_server: UUID,
) -> None:
    """A cancellation in the window, one past it, and a refund request that support approves."""
    when = clock.on(date(2026, 11, 12), hour=12)
    status = led.cancellation_status(ANN, contoso_project)
    story.day(
        when,
        f"Contoso's Project Plan 3: cancellable={status.cancellable}, {status.days_left} days left",
    )
    cancellation = led.cancel(ANN, contoso_project)
    story.step(
        f"ann cancels it: credit {cancellation.credit} (600.00 × (365 − 11) / 365)"
        f" on invoice {cancellation.invoice_month}"
    )
    try:
        led.view_key(CAROL, contoso_project)
    except LedgerError as error:
        story.refused("carol, the cancelled order's key", error)

    when = clock.on(date(2026, 11, 20))
    story.day(when, "Tailspin's Windows Server (bought 2026-10-20) and Wingtip's Office:")
    try:
        led.cancel(ANN, tailspin_server)
    except LedgerError as error:
        story.refused("ann cancels the server", error)
    status = led.cancellation_status(ANN, wingtip_office)
    led.request_refund(
        ANN,
        wingtip_office,
        reason="one seat was never installed",
        amount=Money("45000", "JPY"),
        contact_name="Kenji Sato",
        contact_email="kenji@wingtiptoys.example",
        contact_phone="+81 3 5555 0100",
    )
    story.step(
        f"Wingtip's Office: {status.reason}, refund request possible:"
        f" {status.refund_request_possible}; ann requests 45000 JPY back"
    )
    when = clock.on(date(2026, 11, 23))
    (request,) = led.refunds(SAM)
    resolved = led.resolve_refund(SAM, request.refund_id, approve=True)
    story.day(when, f"sam (vendor support) approves it: {resolved.approved_amount} credited")


def show_views(led: Ledger, console: Console) -> None:
    """The three views: software lists, the activity log, the monthly credits."""
    software = Table(title="Software lists (read by gail)")
    for column in ("customer", "title", "qty", "total", "tax incl.", "status", "key", "until"):
        software.add_column(column)
    for customer in led.customers(GAIL):
        for item in led.software(GAIL, customer.tenant_id):
            software.add_row(
                customer.name,
                item.title,
                str(item.quantity),
                str(item.total),
                "yes" if item.tax_inclusive else "no",
                item.status,
                "available" if item.key_available else "revoked",
                f"{item.cancellable_until:%Y-%m-%d}" if item.cancellable_until else "never",
            )
    console.print(software)

    names = {customer.tenant_id: customer.name for customer in CUSTOMERS}
    activity = Table(title="Activity log, November 2026 (read by gail)")
    for column in ("position", "at (UTC)", "user", "action", "customer", "title"):
        activity.add_column(column)
    for entry in led.activity_log(GAIL, date(2026, 11, 1), date(2026, 11, 30)):
        activity.add_row(
            str(entry.position),
            f"{entry.at:%Y-%m-%d %H:%M}",
            entry.user,
            entry.action,
            names[entry.tenant_id],
            entry.title,
        )
    console.print(activity)

    statement = led.monthly_credits(GAIL, "2026-11")
    credits = Table(title=f"Credits {statement.month} (read by gail)")
    for column in ("issued at (UTC)", "customer", "order", "reason", "amount"):
        credits.add_column(column)
    for line in statement.lines:
        credits.add_row(
            f"{line.issued_at:%Y-%m-%d %H:%M}",
            names[line.tenant_id],
            str(line.order_id)[:8],
            line.reason,
            str(line.amount),
        )
    for currency, total in statement.totals.items():
        credits.add_row("", "", "", f"total {currency}", str(total))
    console.print(credits)
