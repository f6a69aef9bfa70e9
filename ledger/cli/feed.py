"""``ledger feed``: the integration feed as JSON Lines (SPEC §9)."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.errors import reported

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

#: How long ``--follow`` waits between polls when the feed had nothing new.
FOLLOW_PAUSE = 0.5


def feed(
    ctx: typer.Context,
    after: Annotated[
        str | None, typer.Option(help="Continue after this cursor (an item's or the last one).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Items per page (1..1000).")] = 100,
    types: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only items of this type (repeat for several)."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep polling for new items until interrupted.")
    ] = False,
) -> None:
    """The partner's integration feed after a cursor, one JSON item a line, in log order.

    For a partner GLOBAL_ADMIN, ACCOUNT_ADMIN or ADMIN_AGENT. Without --follow it
    prints one page; the last line's "cursor" is what --after takes next. With
    --follow it prints every item as it is recorded, until Ctrl-C.

    Example: ledger feed --after v1.120 --type credit.issued --type order.cancelled
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open() as led, reported():
        cursor = after
        while True:
            page = led.feed(actor, after=cursor, limit=limit, types=types or None)
            for item in page.items:
                sys.stdout.write(json.dumps(item.to_dict(), separators=(",", ":")) + "\n")
            sys.stdout.flush()
            cursor = page.next_cursor
            if not follow:
                return
            if not page.items:
                try:
                    time.sleep(FOLLOW_PAUSE)
                except KeyboardInterrupt:
                    return
