"""``ledger key|download|copy-link``: the licence key and download links (R4).

Each is recorded in the activity log. `key` prints the licence key on stdout:
the one place the ledger shows a key, on purpose; it is never logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.cli.errors import reported
from ledger.cli.render import show, show_scalar

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

Order = Annotated[UUID, typer.Argument(metavar="ORDER", help="The order id.")]
Version = Annotated[str, typer.Option(help="A version the product offers, e.g. 2024.")]
Language = Annotated[str, typer.Option(help="A language the product offers, e.g. en-US.")]
Bitness = Annotated[int, typer.Option(help="32 or 64, as the product offers.")]


def key(ctx: typer.Context, order: Order) -> None:
    """Print the order's licence key (recorded as key_viewed).

    For the partner's ADMIN_AGENT or the tenant's customer GLOBAL_ADMIN. A
    cancelled or fully refunded order's key is revoked: KeyRevoked (exit 5).

    Example: ledger key 2fd8619c-7c52-544b-98c4-28cbe95bfb29
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show_scalar("key", led.view_key(actor, order), settings.format)


def download(
    ctx: typer.Context, order: Order, version: Version, language: Language, bitness: Bitness
) -> None:
    """A download link for the order, valid for 14 days (recorded as downloaded).

    For the partner's ADMIN_AGENT or the tenant's customer GLOBAL_ADMIN.

    Example: ledger download 2fd8619c-7c52-544b-98c4-28cbe95bfb29 --version 2024
    --language en-US --bitness 64
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.download(actor, order, version, language, bitness), settings.format)


def copy_link(
    ctx: typer.Context, order: Order, version: Version, language: Language, bitness: Bitness
) -> None:
    """Like `download`, recorded as link_copied (a link handed on to someone else).

    Example: ledger copy-link 2fd8619c-7c52-544b-98c4-28cbe95bfb29 --version 2024
    --language nl-NL --bitness 32
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.copy_link(actor, order, version, language, bitness), settings.format)
