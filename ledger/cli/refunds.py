"""``ledger refund request|resolve|list``: refunds past the cancellation window (R10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.cli import parse
from ledger.cli.errors import reported
from ledger.cli.render import show, show_scalar
from ledger.values import RefundRequest

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

app = typer.Typer(help="Refund requests past the cancellation window: file, resolve, list.")


@app.command()
def request(
    ctx: typer.Context,
    order: Annotated[UUID, typer.Argument(metavar="ORDER", help="The order id.")],
    reason: Annotated[str, typer.Option(help="Why the customer wants its money back.")],
    amount: Annotated[
        str, typer.Option(help='In the order\'s currency, at most its total, e.g. "100.00 EUR".')
    ],
    contact_name: Annotated[str, typer.Option(help="Who support may contact.")],
    contact_email: Annotated[str, typer.Option(help="local@domain")],
    contact_phone: Annotated[str, typer.Option(help='e.g. "+31 20 555 0100"')],
    attachment: Annotated[
        list[str] | None, typer.Option(help="The name of an attached document (repeat).")
    ] = None,
    tenant: Annotated[
        UUID | None, typer.Option(help="The order's tenant id (checked, optional).")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(help="The order's tenant's domain (checked, optional).")
    ] = None,
) -> None:
    """File a refund request for an order whose cancellation window has closed; prints its id.

    For a partner ADMIN_AGENT. Support resolves it (`ledger refund resolve`).

    Example: ledger refund request 2fd8619c-7c52-544b-98c4-28cbe95bfb29 --reason "never
    installed" --amount "249.00 EUR" --contact-name "Pat Doe" --contact-email
    pat@contoso.example --contact-phone "+31 20 555 0100"
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        money = parse.money("--amount", amount)
    with settings.open() as led, reported():
        refund_id = led.request_refund(
            actor,
            order,
            reason=reason,
            amount=money,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            attachments=tuple(attachment or ()),
            tenant_id=tenant,
            domain=domain,
        )
    show_scalar("refund_id", refund_id, settings.format)


@app.command()
def resolve(
    ctx: typer.Context,
    refund: Annotated[UUID, typer.Argument(metavar="REFUND", help="The refund request's id.")],
    approve: Annotated[
        bool, typer.Option("--approve/--decline", help="Approve (pay a credit) or decline.")
    ],
    amount: Annotated[
        str | None,
        typer.Option(help='Approve less than was requested, e.g. "50.00 EUR".'),
    ] = None,
) -> None:
    """Approve or decline a refund request; prints the request as it now stands.

    For the vendor's SUPPORT (--role SUPPORT, no --partner or --tenant-of-actor).
    An approval issues a credit in the current month; a refund of the whole
    order revokes its key.

    Example: ledger --as sam --role SUPPORT refund resolve 0f0c... --approve
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        money = None if amount is None else parse.money("--amount", amount)
    with settings.open() as led, reported():
        show(led.resolve_refund(actor, refund, approve=approve, amount=money), settings.format)


@app.command("list")
def list_refunds(ctx: typer.Context) -> None:
    """Refund requests and their state: the partner's own, or (for SUPPORT) every partner's.

    For a partner ADMIN_AGENT, GLOBAL_ADMIN or ACCOUNT_ADMIN, and the vendor's
    SUPPORT: requests hold contact details.

    Example: ledger --format json refund list
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.refunds(actor), settings.format, kind=RefundRequest)
