"""``ledger audit digest|verify|key|export|verify-export|as-of`` (R18)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.audit import Verification, verify_export
from ledger.cli import parse
from ledger.cli.errors import TAMPERED, reported
from ledger.cli.progress import progress_bar
from ledger.cli.render import show

if TYPE_CHECKING:
    from ledger.cli.settings import Settings

app = typer.Typer(help="Audit the history: digest, verify, export, check an export, state as of.")
as_of_app = typer.Typer(help="The views as they stood at DATETIME, replayed from the history.")
app.add_typer(as_of_app, name="as-of")

AUDIT_KEY_ENV = "LEDGER_AUDIT_KEY"


@app.command()
def digest(ctx: typer.Context) -> None:
    """Print the chain head as one line, "<position>:<hash>": keep it outside the database.

    Example: ledger audit digest >> digests.txt
    """
    settings: Settings = ctx.obj
    with settings.open() as led, reported():
        print(str(led.audit.digest()))


def _report(result: Verification, format: str) -> None:
    show(result, format)  # type: ignore[arg-type]
    if not result.ok:
        raise typer.Exit(TAMPERED)


@app.command()
def verify(
    ctx: typer.Context,
    digest: Annotated[
        str | None, typer.Option(help="A digest taken earlier: the history must still lead to it.")
    ] = None,
) -> None:
    """Check every stored event's seal and the hash chain; exit 7 when anything was tampered with.

    Example: ledger audit verify --digest "$(tail -1 digests.txt)"
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported(), progress_bar("verifying") as bar:
        result = led.audit.verify(digest, progress=bar)
    _report(result, settings.format)


@app.command()
def export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File to write (JSON Lines unless --csv).")],
    as_csv: Annotated[bool, typer.Option("--csv", help="Write CSV instead of JSON Lines.")] = False,
) -> None:
    """Export every stored event with its bytes, seal and chain hash (checkable offline).

    The export is logged with who ran it, when --as names someone.

    Example: ledger audit export events-2026-11.jsonl
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.recorded_user()
    with settings.open(views="follower") as led, reported(), progress_bar("exporting") as bar:
        count = led.audit.export_events(
            path, "csv" if as_csv else "jsonl", progress=bar, actor=actor
        )
    print(f"{count} events written to {path}", file=sys.stderr)


def _audit_key(option: str | None) -> bytes | None:
    """--audit-key, else $LEDGER_AUDIT_KEY (what `ledger audit key` printed), else none."""
    text = option or os.environ.get(AUDIT_KEY_ENV)
    return text.encode() if text else None


@app.command()
def key(ctx: typer.Context) -> None:
    """Print the key the store's events are sealed with (hex), for checking exports offline.

    Hand it to the auditor apart from the export; whoever holds it can make seals.

    Example: ledger audit key > audit.key
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported():
        print(led.audit.key())


@app.command("verify-export")
def verify_export_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="An export written by `ledger audit export`.")],
    digest: Annotated[
        str | None, typer.Option(help="A digest taken earlier: the export must lead to it.")
    ] = None,
    audit_key: Annotated[
        str | None,
        typer.Option(
            help=f"The audit key (hex or base64, from `ledger audit key`); default"
            f" ${AUDIT_KEY_ENV}. Without a key the seals are not checked, only the chain.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check an export offline (no database): seals, chain, closing line, digest; 7 on tampering.

    Example: ledger audit verify-export events.jsonl --digest 1200:9f2c...
    """
    settings: Settings = ctx.obj
    with reported(), progress_bar("checking") as bar:
        key = _audit_key(audit_key)
        if key is None:
            print("no audit key: checking the chain only, not the seals", file=sys.stderr)
        result = verify_export(path, digest, key, progress=bar)
    _report(result, settings.format)


@as_of_app.callback()
def as_of(
    ctx: typer.Context,
    moment: Annotated[str, typer.Argument(metavar="DATETIME", help="e.g. 2026-11-30T23:59:59Z")],
) -> None:
    settings: Settings = ctx.obj
    with reported():
        ctx.obj = (settings, parse.instant("DATETIME", moment))


@as_of_app.command("software")
def as_of_software(
    ctx: typer.Context,
    tenant: Annotated[UUID, typer.Option(help="The customer's tenant id.")],
) -> None:
    """A customer's software list as it stood then.

    Example: ledger audit as-of 2026-11-30T23:59:59Z software --tenant 6f1d...
    """
    settings, moment = ctx.obj
    with settings.open(views="follower") as led, reported(), led.audit.as_of(moment) as then:
        show(then.software(tenant), settings.format)


@as_of_app.command("activity")
def as_of_activity(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option(help="The partner whose log it is.")],
    start: Annotated[str, typer.Option("--from", help="First UTC day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last UTC day (YYYY-MM-DD), inclusive.")],
) -> None:
    """A partner's activity log as it stood then.

    Example: ledger audit as-of 2026-12-01 activity --partner P1 --from 2026-11-01 --to 2026-11-30
    """
    settings, moment = ctx.obj
    with settings.open(views="follower") as led, reported():
        first = parse.day_or_instant("--from", start)
        last = parse.day_or_instant("--to", end)
        with led.audit.as_of(moment) as then:
            show(then.activity_log(partner, first, last), settings.format)


@as_of_app.command("credits")
def as_of_credits(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option(help="The partner whose credits they are.")],
    month: Annotated[str, typer.Option(help="The UTC month, YYYY-MM.")],
) -> None:
    """A partner's monthly credits as they stood then.

    Example: ledger audit as-of 2026-12-05T00:00Z credits --partner P1 --month 2026-11
    """
    settings, moment = ctx.obj
    with settings.open(views="follower") as led, reported(), led.audit.as_of(moment) as then:
        show(then.monthly_credits(partner, month), settings.format)
