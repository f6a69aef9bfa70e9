"""``ledger admin``: what the store's owner sets up once (R21)."""

from __future__ import annotations

import typer

from ledger import roles
from ledger.cli.errors import reported
from ledger.cli.settings import Settings
from ledger.stores import parse_store_url

app = typer.Typer(no_args_is_help=True, help="Set up the store: the PostgreSQL roles (R21).")


@app.command("roles")
def roles_command(ctx: typer.Context) -> None:
    """Create ledger_writer, ledger_reader and ledger_auditor and grant them (idempotent).

    Run it as the schema's owner (a role with CREATEROLE), after the tables exist
    (it opens the store first, which creates them). The events table then refuses
    UPDATE, DELETE and TRUNCATE for every role but its owner. Give each process a
    login role in one of them (docs/operations.md).

    Example: ledger --url postgresql://owner@db/ledger admin roles
    """
    settings: Settings = ctx.obj
    with settings.open():
        pass  # the tables exist, as this release makes them
    with reported():
        done = roles.grant_roles(parse_store_url(settings.url))
    for line in done:
        print(line)
