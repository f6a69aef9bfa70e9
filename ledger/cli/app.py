"""The root ``ledger`` command: global options, who acts, and opening the store they name."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

import structlog
import typer
from typer.core import TyperGroup

from ledger.cli import (
    admin,
    audit,
    customers,
    demo,
    feed,
    licences,
    orders,
    parse,
    refunds,
    reports,
    views,
    webhooks,
)
from ledger.cli.errors import USAGE
from ledger.cli.render import FORMATS
from ledger.cli.settings import Settings

DEFAULT_URL = "sqlite:///ledger.db"
ROLES_ENV = "LEDGER_ROLES"


class LedgerGroup(TyperGroup):
    """Usage mistakes on one line of stderr, like the library's errors (no box, no traceback)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.TyperException as error:  # typer's own click: bad options, arguments
            code = _usage_error(error)
        except typer.Abort:
            print("Aborted", file=sys.stderr)
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _usage_error(error: typer.TyperException) -> int:
    code = int(getattr(error, "exit_code", USAGE))
    if type(error).__name__ == "NoArgsIsHelpError":  # ``ledger`` or a group alone: its help
        print(error.format_message())
        return code
    context = getattr(error, "ctx", None)
    hint = f" (see: {context.command_path} --help)" if context is not None else ""
    message = " ".join(error.format_message().split())
    print(f"UsageError: {message}{hint}", file=sys.stderr)
    return code


app = typer.Typer(
    name="ledger",
    cls=LedgerGroup,
    help="The order ledger from the command line. The store is --url, else $LEDGER_URL,"
    f" else {DEFAULT_URL}; the secret key comes from $LEDGER_SECRET_KEY or the store's key"
    " file. Who acts is --as/--role/--partner (or --tenant-of-actor), else $LEDGER_USER,"
    f" ${ROLES_ENV} (comma-separated) and $LEDGER_PARTNER.\n\n"
    "Exit codes: 0 ok, 2 bad input or usage, 3 not found, 4 access denied, 5 another rule"
    " refused it, 6 store or key unusable, 7 verify found tampering.\n\n"
    "Example: ledger --as ann --role ADMIN_AGENT --partner fabrikam customer list",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo.demo)
app.add_typer(customers.app, name="customer")
app.command("purchase")(orders.purchase)
app.command("key")(licences.key)
app.command("download")(licences.download)
app.command("copy-link")(licences.copy_link)
app.command("status")(orders.status)
app.command("cancel")(orders.cancel)
app.add_typer(refunds.app, name="refund")
app.command("software")(reports.software)
app.command("activity")(reports.activity)
app.command("credits")(reports.credits)
app.command("kms-deadline")(reports.kms_deadline)
app.command("feed")(feed.feed)
app.add_typer(views.app, name="views")
app.add_typer(audit.app, name="audit")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(admin.app, name="admin")


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help=f"Store URL (default: $LEDGER_URL, else {DEFAULT_URL}).", show_default=False
        ),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="Output: table, json or csv.")] = "table",
    user: Annotated[
        str | None,
        typer.Option("--as", envvar="LEDGER_USER", help="The acting user.", show_default=False),
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="A role of the acting user (repeat it, or separate with commas); default"
            f" ${ROLES_ENV}. One of: {', '.join(r.value for r in parse.Role)}.",
            show_default=False,
        ),
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(
            envvar="LEDGER_PARTNER",
            help="The acting user's partner id (a partner user).",
            show_default=False,
        ),
    ] = None,
    tenant_of_actor: Annotated[
        UUID | None,
        typer.Option(
            envvar="LEDGER_TENANT_OF_ACTOR",
            help="The acting user's tenant id (a customer user), instead of --partner.",
            show_default=False,
        ),
    ] = None,
    log_json: Annotated[
        bool,
        typer.Option(
            "--log-json",
            envvar="LEDGER_LOG_JSON",
            help="Write the ledger's log lines (info and up) to stderr as JSON.",
        ),
    ] = False,
) -> None:
    if format not in FORMATS:
        raise typer.BadParameter("must be table, json or csv", param_hint="--format")
    roles = tuple(role) if role else tuple(os.environ.get(ROLES_ENV, "").split(","))
    ctx.obj = Settings(
        url=url or os.environ.get("LEDGER_URL") or DEFAULT_URL,
        format=format,
        user=user,
        roles=tuple(r for r in roles if r.strip()),
        partner=partner,
        tenant=tenant_of_actor,
        log_json=log_json,
    )


def main() -> None:
    """Console-script entry point."""
    # Library code that logs through structlog's default logger stays quiet on stdout too.
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    app()
