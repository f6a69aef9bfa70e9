"""``ledger purchase|status|cancel``: buying (R1–R3, R12) and cancelling (R6–R9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.cli import parse
from ledger.cli.errors import reported
from ledger.cli.render import show, show_scalar
from ledger.values import Product, ProductKind

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

Order = Annotated[UUID, typer.Argument(metavar="ORDER", help="The order id.")]


def purchase(
    ctx: typer.Context,
    tenant: Annotated[UUID, typer.Option(help="The customer's tenant id.")],
    product_id: Annotated[str, typer.Option(help="e.g. DG7GMGF0D7FV")],
    sku: Annotated[str, typer.Option(help="The SKU id, e.g. 0002.")],
    title: Annotated[str, typer.Option(help="The product's title.")],
    kind: Annotated[
        ProductKind,
        typer.Option(case_sensitive=False, help="What is sold."),
    ],
    quantity: Annotated[int, typer.Option(help="1 to 100000.")],
    unit_price: Annotated[
        str, typer.Option(help='Tax-exclusive (AU, BR: inclusive), e.g. "249.00 EUR".')
    ],
    term_days: Annotated[
        int | None, typer.Option(help="The term in days (required for SUBSCRIPTION).")
    ] = None,
    version: Annotated[
        list[str] | None, typer.Option(help="A version offered for download (repeat).")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="A language offered, e.g. en-US (repeat).")
    ] = None,
    bitness: Annotated[list[int] | None, typer.Option(help="32 or 64 (repeat).")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="The same key and details again return the same order (R12)."),
    ] = None,
    activation: Annotated[str, typer.Option(help="MAK only: KMS is refused (R3).")] = "MAK",
) -> None:
    """Buy a product for a customer of the acting partner; prints the order id.

    For a partner ADMIN_AGENT or GLOBAL_ADMIN. The order's currency is the unit
    price's; the cancellation deadline is fixed now (R6).

    Example: ledger purchase --tenant 6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e
    --product-id DG7GMGF0D7FV --sku 0002 --title "Office LTSC 2024" --kind PERPETUAL
    --version 2024 --language en-US --bitness 64 --quantity 2 --unit-price "249.00 EUR"
    --idempotency-key po-1234
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        product = Product(
            product_id=product_id,
            sku_id=sku,
            title=title,
            kind=kind,
            term_days=term_days,
            versions=tuple(version or ()),
            languages=tuple(language or ()),
            bitness=tuple(bitness or ()),
        )
        price = parse.money("--unit-price", unit_price)
    with settings.open() as led, reported():
        order_id = led.purchase(
            actor, tenant, product, quantity, price, idempotency_key, activation
        )
    show_scalar("order_id", order_id, settings.format)


def status(ctx: typer.Context, order: Order) -> None:
    """Whether the order can be cancelled, for how many more days, or why not (R9).

    For any partner user of the order's partner.

    Example: ledger status 2fd8619c-7c52-544b-98c4-28cbe95bfb29
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.cancellation_status(actor, order), settings.format)


def cancel(ctx: typer.Context, order: Order) -> None:
    """Cancel an order within its window: revokes its key and links, issues the credit (R6–R8).

    For a partner ADMIN_AGENT. Past the window: CancellationWindowClosed
    (exit 5); then `ledger refund request` is the way.

    Example: ledger cancel 2fd8619c-7c52-544b-98c4-28cbe95bfb29
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.cancel(actor, order), settings.format)
