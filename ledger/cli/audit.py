"""``ledger audit digest|digests|public-key|verify|rebuild-compare|prove|prove-consistency|
verify-proof|export|verify-export|report|as-of|what-if`` (R18, R18 v2, SPEC §10).

No command prints a key that can forge a seal or a signature: auditors get the public key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from ledger.audit import Verification, verify_export, verify_proof
from ledger.audit.evidence import MANIFEST
from ledger.audit.trail import TrailEntry
from ledger.cli import parse
from ledger.cli.errors import TAMPERED, reported
from ledger.cli.progress import progress_bar
from ledger.cli.render import show
from ledger.errors import InvalidInput

if TYPE_CHECKING:
    from ledger import Ledger
    from ledger.audit import HistoricalViews
    from ledger.cli.settings import Settings

app = typer.Typer(help="Audit the history: digest, verify, export, check an export, state as of.")
as_of_app = typer.Typer(help="The views as they stood at DATETIME, replayed from the history.")
app.add_typer(as_of_app, name="as-of")

AUDIT_KEY_ENV = "LEDGER_AUDIT_KEY"


@app.command()
def digest(ctx: typer.Context) -> None:
    """Print a signed digest of the history now, as one line: keep it outside the database.

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

    A progress bar is drawn on stderr when it is a terminal.

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

    The history is every partner's: only the vendor's auditor (--role AUDITOR, no
    --partner) may export it (R21). The export is recorded with who ran it.
    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger --as vera --role AUDITOR audit export events-2026-11.jsonl
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
    with settings.open(views="follower") as led, reported(), progress_bar("exporting") as bar:
        count = led.audit.export_events(
            path, "csv" if as_csv else "jsonl", progress=bar, actor=actor
        )
    print(f"{count} events written to {path}", file=sys.stderr)


def _audit_key(option: str | None) -> bytes | None:
    """--audit-key, else $LEDGER_AUDIT_KEY (the key given to `Ledger.open`), else none."""
    text = option or os.environ.get(AUDIT_KEY_ENV)
    return text.encode() if text else None


@app.command("public-key")
def public_key(ctx: typer.Context) -> None:
    """Print the store's public key (PEM): all an auditor needs to check digests, proofs and
    exports. It cannot make a seal or a signature.

    Example: ledger audit public-key > ledger-public.pem
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported():
        print(led.audit.public_key(), end="")


@app.command()
def digests(
    ctx: typer.Context,
    after: Annotated[int, typer.Option(help="Only digests of a longer history (tree size).")] = 0,
) -> None:
    """List the digests the ledger signed and stored as it went, oldest first, one per line.

    Example: ledger audit digests --after 120000 >> published-digests.txt
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported():
        found = led.audit.digests(after=after)
    if settings.format == "json":
        show(found, "json")
        return
    for item in found:
        print(str(item))


@app.command("rebuild-compare")
def rebuild_compare(ctx: typer.Context) -> None:
    """Replay the history into scratch views and compare them with the live ones; 7 if they differ.

    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger audit rebuild-compare
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported(), progress_bar("replaying") as bar:
        report = led.audit.rebuild(progress=bar)
    show(report, settings.format)
    if not report.matches:
        raise typer.Exit(TAMPERED)


@app.command()
def prove(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help="The order whose events to prove.")],
) -> None:
    """Print an inclusion proof (JSON) of the order's events against a fresh signed digest.

    Example: ledger audit prove 3f0c... > order-proof.json
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported():
        print(led.audit.prove(order_id).to_json())


@app.command("prove-consistency")
def prove_consistency(
    ctx: typer.Context,
    old_digest: Annotated[str, typer.Argument(help="A signed digest published earlier.")],
) -> None:
    """Print a proof (JSON) that the history of OLD_DIGEST is a prefix of today's.

    Example: ledger audit prove-consistency "$(head -1 published-digests.txt)"
    """
    settings: Settings = ctx.obj
    with settings.open(views="follower") as led, reported():
        print(led.audit.prove_consistency(old_digest).to_json())


@app.command()
def report(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="First day (or instant) of the period.")],
    end: Annotated[str, typer.Option("--to", help="Last day (or instant) of the period.")],
    out: Annotated[Path, typer.Option(help="A new directory for the pack.")],
) -> None:
    """Write an evidence pack: printable HTML report, signed manifest, exports; 7 if tampered.

    Only the vendor's auditor (--role AUDITOR, no --partner) may write one (R21).

    Example: ledger --as vera --role AUDITOR audit report --from 2026-11-01 --to 2026-11-30
    --out evidence-2026-11
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        period = parse.day_or_instant("--from", start), parse.day_or_instant("--to", end)
    with settings.open(views="follower") as led, reported():
        pack = led.audit.report(out, *period, actor=actor)
    print(f"evidence pack written to {out} ({pack.manifest['files'][-1]['name']}, {MANIFEST})")
    if not pack.ok:
        raise typer.Exit(TAMPERED)


@app.command("verify-proof")
def verify_proof_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A proof written by `ledger audit prove...`.")],
    public_key: Annotated[
        Path, typer.Option(help="The store's public key (PEM, from `ledger audit public-key`).")
    ],
) -> None:
    """Check a proof offline (no database) with the public key; exit 7 when it fails.

    Example: ledger audit verify-proof order-proof.json --public-key ledger-public.pem
    """
    settings: Settings = ctx.obj
    with reported():
        result = verify_proof(_read(path, "path"), public_key=_read(public_key, "public_key"))
    show(result, settings.format)
    if not result.ok:
        raise typer.Exit(TAMPERED)


def _read(path: Path, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(field, f"cannot read {path}: {error}") from None


@app.command("verify-export")
def verify_export_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="An export written by `ledger audit export`.")],
    digest: Annotated[
        str | None, typer.Option(help="A digest taken earlier: the export must lead to it.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="The store's public key (PEM, from `ledger audit public-key`): checks the"
            " signed closing line and signed digests.",
            show_default=False,
        ),
    ] = None,
    audit_key: Annotated[
        str | None,
        typer.Option(
            help=f"The operator's audit key (hex or base64; default ${AUDIT_KEY_ENV}) to check"
            " each row's seal too. Auditors do not need it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check an export offline (no database): chain, tree, signed closing line, digest; 7 on
    tampering.

    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger audit verify-export events.jsonl --public-key ledger-public.pem
    """
    settings: Settings = ctx.obj
    with reported(), progress_bar("checking") as bar:
        key = _audit_key(audit_key)
        pem = None if public_key is None else _read(public_key, "public_key")
        if key is None and pem is None:
            print("no public key: checking the chain only, not who wrote it", file=sys.stderr)
        result = verify_export(path, digest, key, public_key=pem, progress=bar)
    _report(result, settings.format)


@app.command("what-if")
def what_if(
    ctx: typer.Context,
    policy: Annotated[
        str,
        typer.Option(help="The candidate policy, as module:attribute (importable from here)."),
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="First UTC day (YYYY-MM-DD) of purchases.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last UTC day (YYYY-MM-DD), inclusive.")
    ] = None,
) -> None:
    """Replay the orders purchased in a period under a candidate cancellation policy.

    Read-only. One row per order: the deadline and credit it got, the candidate's,
    and the change (same, credit_changed, deadline_changed, would_be_refused), then
    totals per currency. For the partner's GLOBAL_ADMIN, ACCOUNT_ADMIN or ADMIN_AGENT
    (its own orders) or the vendor's SUPPORT (all). A progress bar is drawn on stderr
    when it is a terminal.

    Example: ledger --as ann --role ACCOUNT_ADMIN --partner P1 audit what-if
    --policy my_policies:SEVENTY_TWO_HOURS --from 2026-07-01 --to 2026-09-30
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        candidate = parse.policy("--policy", policy)
        first = None if start is None else parse.day_or_instant("--from", start)
        last = None if end is None else parse.day_or_instant("--to", end)
    with (
        settings.open(views="follower") as led,
        reported(),
        progress_bar("replaying") as bar,
    ):
        report = led.audit.what_if(actor, candidate, first, last, progress=bar)
    show(report, settings.format)


@contextmanager
def _as_of(
    led: Ledger, settings: Settings, moment: datetime, tenant: UUID | None = None
) -> Iterator[HistoricalViews]:
    """The views as they stood at ``moment`` as the actor may audit them (R21), replayed
    with a progress bar on a terminal (one tenant's: from its own streams)."""
    actor = settings.actor()
    with (
        progress_bar("replaying") as bar,
        led.audit.as_of(moment, progress=bar, actor=actor, tenant_id=tenant) as then,
    ):
        yield then


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
    """A customer's software list as it stood then (a partner's auditor: its own orders).

    Only the tenant's own streams are read (every event checked), so it takes
    milliseconds at any length of history.

    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger audit as-of 2026-11-30T23:59:59Z software --tenant 6f1d...
    """
    settings, moment = ctx.obj
    with (
        settings.open(views="follower") as led,
        reported(),
        _as_of(led, settings, moment, tenant) as then,
    ):
        show(then.software(tenant), settings.format)


@as_of_app.command("activity")
def as_of_activity(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option(help="The partner whose log it is.")],
    start: Annotated[str, typer.Option("--from", help="First UTC day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last UTC day (YYYY-MM-DD), inclusive.")],
) -> None:
    """A partner's activity log as it stood then (its auditor, or the vendor's).

    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger audit as-of 2026-12-01 activity --partner P1 --from 2026-11-01 --to 2026-11-30
    """
    settings, moment = ctx.obj
    with settings.open(views="follower") as led, reported():
        first = parse.day_or_instant("--from", start)
        last = parse.day_or_instant("--to", end)
        with _as_of(led, settings, moment) as then:
            show(then.activity_log(partner, first, last), settings.format)


@as_of_app.command("credits")
def as_of_credits(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option(help="The partner whose credits they are.")],
    month: Annotated[str, typer.Option(help="The UTC month, YYYY-MM.")],
) -> None:
    """A partner's monthly credits as they stood then (its auditor, or the vendor's).

    A progress bar is drawn on stderr when it is a terminal.

    Example: ledger audit as-of 2026-12-05T00:00Z credits --partner P1 --month 2026-11
    """
    settings, moment = ctx.obj
    with settings.open(views="follower") as led, reported(), _as_of(led, settings, moment) as then:
        show(then.monthly_credits(partner, month), settings.format)


@app.command("trail")
def trail(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (or instant); default: the start.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (or instant), inclusive.")
    ] = None,
) -> None:
    """The store's trail: audit reads, admin actions and refused attempts (R21).

    Who, what, when, why refused, and from where; a refusal repeated within a minute
    is one row with its count. The vendor's auditor reads every row, a partner's
    auditor its own partner's; reading it is itself recorded.

    Example: ledger --as vera --role AUDITOR --format csv audit trail --from 2026-11-01
    """
    settings: Settings = ctx.obj
    with reported():
        actor = settings.actor()
        first = None if start is None else parse.instant("--from", start)
        last = None if end is None else _end_of("--to", end)
    with settings.open(views="follower") as led, reported():
        entries = led.audit.trail(actor, first, last)
    show(entries, settings.format, kind=TrailEntry, title="Trail")


def _end_of(option: str, text: str) -> datetime:
    """The end of an inclusive period: a day's end, or the instant itself."""
    moment = parse.day_or_instant(option, text)
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
