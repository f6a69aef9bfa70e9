"""``ledger webhooks add|list|remove|deliver|status``: signed webhooks (SPEC §9)."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from ledger.cli.errors import reported
from ledger.cli.render import show
from ledger.values import WebhookEndpoint
from ledger.webhooks import Backoff, Deliverer, DeliveryStatus

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

app = typer.Typer(help="Webhook endpoints and their delivery: add, list, remove, deliver, status.")


@app.command()
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST: an http:// or https:// URL.")],
    types: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only items of this type (repeat); default every type."),
    ] = None,
) -> None:
    """Register an endpoint for the partner; prints it with its signing secret, shown once.

    For a partner GLOBAL_ADMIN, ACCOUNT_ADMIN or ADMIN_AGENT. Keep the secret
    (whsec_...): receivers verify each request's webhook-signature with it.

    Example: ledger webhooks add https://billing.example/hooks --type credit.issued
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        endpoint = led.add_webhook(actor, url, types=types or None)
        show(endpoint.to_dict(), settings.format)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """The partner's endpoints in force (never their secrets).

    Example: ledger --as bill --role ACCOUNT_ADMIN --partner fabrikam webhooks list
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.webhooks(actor), settings.format, kind=WebhookEndpoint)


@app.command()
def remove(
    ctx: typer.Context,
    endpoint: Annotated[UUID, typer.Argument(metavar="ENDPOINT", help="The endpoint's id.")],
) -> None:
    """Stop delivering to an endpoint (what it was sent stays sent).

    Example: ledger webhooks remove 92c756fb-e251-4b48-b0c5-786ecf474303
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        led.remove_webhook(actor, endpoint)


@app.command()
def deliver(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 10.0,
    poll: Annotated[float, typer.Option(help="Seconds between looks for new items.")] = 0.1,
    lease: Annotated[
        float, typer.Option(help="Seconds an endpoint stays this deliverer's without renewal.")
    ] = 30.0,
    first_retry: Annotated[
        float, typer.Option(help="Seconds before the first retry (doubling after).")
    ] = 1.0,
    name: Annotated[
        str | None, typer.Option(help="This deliverer's name (a restart with it resumes at once).")
    ] = None,
) -> None:
    """Deliver every endpoint's items until SIGTERM or Ctrl-C (run several if you like).

    Each endpoint gets its items in log order, one at a time, signed per Standard
    Webhooks; a 2xx acknowledges, anything else is retried with backoff. Needs no
    actor: it delivers what each endpoint's partner registered.

    Example: ledger webhooks deliver --name billing-1
    """
    settings: Settings = ctx.obj
    with settings.open() as led, reported():
        deliverer = Deliverer(
            ledger=led,
            timeout=timeout,
            poll_interval=poll,
            lease_seconds=lease,
            backoff=Backoff(first=first_retry),
            name=name,
        )
        stopping = threading.Event()

        def stop(*_: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        deliverer.run(until=stopping)


@app.command()
def status(ctx: typer.Context) -> None:
    """Per endpoint: position, lag in items and seconds, attempts, last error, who serves it.

    Example: ledger --format json webhooks status
    """
    settings: Settings = ctx.obj
    with settings.open() as led, reported():
        deliverer = Deliverer(ledger=led)
        show(deliverer.status(), settings.format, kind=DeliveryStatus)
