"""``ledger software|activity|credits|kms-deadline``: the three views (R5, R7) and R17's helper."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.cli import parse
from ledger.cli.errors import reported
from ledger.cli.render import show, show_scalar
from ledger.policies.kms import kms_migration_deadline
from ledger.values import ActivityEntry, SoftwareItem

if TYPE_CHECKING:
    from ledger.cli.settings import Settings


def software(
    ctx: typer.Context,
    tenant: Annotated[UUID, typer.Option(help="The customer's tenant id.")],
) -> None:
    """A customer's software list: every order, cancelled and refunded ones too.

    For any partner user (its partner's orders for the customer) and the
    tenant's customer GLOBAL_ADMIN (every partner's).

    Example: ledger software --tenant 6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.software(actor, tenant), settings.format, kind=SoftwareItem)


def activity(
    ctx: typer.Context,
    start: Annotated[
        str, typer.Option("--from", help="First UTC day (YYYY-MM-DD), or an exact datetime.")
    ],
    end: Annotated[
        str,
        typer.Option("--to", help="Last UTC day, included; or an exact datetime, excluded."),
    ],
    tenant: Annotated[UUID | None, typer.Option(help="Only this customer's orders.")] = None,
    order: Annotated[UUID | None, typer.Option(help="Only this order.")] = None,
    user: Annotated[str | None, typer.Option(help="Only what this user did.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries (1..10000).")] = None,
    after: Annotated[
        int | None,
        typer.Option(help="Continue after this position (the last one of the previous page)."),
    ] = None,
) -> None:
    """Who viewed keys, downloaded and copied links on the partner's orders, oldest first (R5).

    For a partner GLOBAL_ADMIN, ACCOUNT_ADMIN, REFERRAL_ADMIN or
    MARKETING_CONTENT_ADMIN. With --limit, a full page ends with a hint on
    stderr: the --after that gives the next one.

    Example: ledger activity --from 2026-11-01 --to 2026-11-30 --limit 100
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        first = parse.day_or_instant("--from", start)
        last = parse.day_or_instant("--to", end)
    with settings.open() as led, reported():
        entries = led.activity_log(
            actor,
            first,
            last,
            tenant_id=tenant,
            order_id=order,
            user=user,
            limit=limit,
            after=after,
        )
    show(entries, settings.format, kind=ActivityEntry)
    if limit is not None and len(entries) == limit:
        print(f"more may follow: --after {entries[-1].position}", file=sys.stderr)


def credits(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="The UTC month, YYYY-MM.")],
) -> None:
    """The credits issued to the partner in a month, with totals per currency (R7, R10).

    For a partner GLOBAL_ADMIN, ACCOUNT_ADMIN or ADMIN_AGENT. CSV gives the
    lines; JSON the whole statement.

    Example: ledger credits --month 2026-11
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        show(led.monthly_credits(actor, month), settings.format)


def kms_deadline(
    ctx: typer.Context,
    activated: Annotated[
        str,
        typer.Argument(
            metavar="DATETIME", help="When the device was activated by KMS (a date: 00:00 UTC)."
        ),
    ],
) -> None:
    """By when a device activated by KMS must have its MAK: 180 days later (R17).

    Needs no store and no actor.

    Example: ledger kms-deadline 2026-11-02T09:00:00Z
    """
    settings: Settings = ctx.obj
    with reported():
        show_scalar(
            "deadline",
            kms_migration_deadline(parse.instant("activated", activated)),
            settings.format,
        )
