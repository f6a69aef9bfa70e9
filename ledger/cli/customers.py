"""``ledger customer add|list``: a partner's customers (R11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.cli.errors import reported
from ledger.cli.render import show, show_scalar
from ledger.values import Customer

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

app = typer.Typer(help="The acting partner's customers: register one, list them.")


@app.command()
def add(
    ctx: typer.Context,
    tenant: Annotated[UUID, typer.Option(help="The customer's tenant id.")],
    domain: Annotated[str, typer.Option(help="e.g. contoso.example")],
    name: Annotated[str, typer.Option(help="e.g. Contoso")],
    market: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code (or XK).")],
) -> None:
    """Register a customer (tenant) for the acting partner; prints its tenant id.

    For a partner ADMIN_AGENT, SALES_AGENT or GLOBAL_ADMIN. The same details
    again change nothing; other details are a CustomerConflict (exit 5).

    Example: ledger customer add --tenant 6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e
    --domain contoso.example --name Contoso --market NL
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        customer = Customer(tenant_id=tenant, domain=domain, name=name, market=market)
    with settings.open() as led, reported():
        show_scalar("tenant_id", led.add_customer(actor, customer), settings.format)


@app.command("list")
def list_customers(ctx: typer.Context) -> None:
    """The acting partner's customers, as it registered them, oldest first.

    For any partner user.

    Example: ledger --format csv customer list > customers.csv
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.customers(actor), settings.format, kind=Customer)
