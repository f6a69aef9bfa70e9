"""``ledger views follow|status|rebuild`` (§6)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.errors import reported
from ledger.cli.progress import progress_bar
from ledger.cli.render import show

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

app = typer.Typer(help="The views: follow the log, show how far they are, rebuild them.")


@app.command()
def follow(
    ctx: typer.Context,
    poll_interval: Annotated[
        float, typer.Option(min=0.001, max=60.0, help="Seconds between looks at the log.")
    ] = 0.05,
) -> None:
    """Keep the views up to date for views="follower" ledgers, until interrupted.

    Several followers may run on one store; exactly one applies each event.

    Example: LEDGER_URL=postgresql://app@db/ledger ledger views follow
    """
    settings: Settings = ctx.obj
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with settings.open(views="follower") as led, reported():
        print(f"following {settings.url}: views at {led.views_status().position}", file=sys.stderr)
        led.follow(stop, poll_interval=poll_interval)
        print(f"stopped: views at {led.views_status().position}", file=sys.stderr)


@app.command()
def status(ctx: typer.Context) -> None:
    """Position (last event applied), head (last stored), lag in events and seconds.

    Reads the views as they stand (it does not bring them up to date).

    Example: ledger --format json views status
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported():
        show(led.views_status(), settings.format)


@app.command()
def rebuild(ctx: typer.Context) -> None:
    """Rebuild the views from the whole history; queries see the old views until it is done.

    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger views rebuild
    """
    settings: Settings = ctx.obj
    with (
        settings.open(views="follower") as led,
        reported(),
        progress_bar("rebuilding views") as progress,
    ):
        show(led.rebuild_views(progress=progress), settings.format)
