"""The root ``ledger`` command: global options, and opening the store they name."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Annotated

import structlog
import typer

from ledger.application import Ledger
from ledger.cli import audit, views
from ledger.cli.errors import reported
from ledger.cli.render import Format
from ledger.values import ViewsMode

DEFAULT_URL = "sqlite:///ledger.db"

app = typer.Typer(
    name="ledger",
    help="The order ledger from the command line. The store is --url, else $LEDGER_URL,"
    f" else {DEFAULT_URL}; the secret key comes from $LEDGER_SECRET_KEY or the store's key file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(views.app, name="views")
app.add_typer(audit.app, name="audit")


@dataclass(frozen=True)
class Settings:
    url: str
    format: Format

    def open(self, views: ViewsMode = "inline") -> Ledger:
        """The Ledger of ``--url``; library errors become exit codes (see `ledger.cli.errors`)."""
        with reported():
            return Ledger.open(self.url, views=views, logger=_stderr_logger())


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
) -> None:
    if format not in ("table", "json", "csv"):
        raise typer.BadParameter("must be table, json or csv", param_hint="--format")
    chosen = url or os.environ.get("LEDGER_URL") or DEFAULT_URL
    ctx.obj = Settings(url=chosen, format=format)  # type: ignore[arg-type]


def _stderr_logger() -> object:
    """The library's log lines on stderr, warnings and worse: stdout is the command's result."""
    return structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )


def _quiet_logging() -> None:
    # Output is for the command's result: the library's log lines go to stderr, warnings only.
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )


def main() -> None:
    """Console-script entry point."""
    _quiet_logging()
    app()
