"""`Settings`: the global options of the ``ledger`` command, as every subcommand sees them."""

from __future__ import annotations

import logging
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog

import ledger.logging
from ledger.application import Ledger
from ledger.cli import parse
from ledger.cli.errors import reported
from ledger.cli.render import Format
from ledger.errors import InvalidInput
from ledger.values import Actor, ViewsMode

__all__ = ["Settings"]


#: Where the command line's calls come from, for the store's trail (R21).
ORIGIN = f"ledger command line on {socket.gethostname()} (pid {os.getpid()})"


@dataclass(frozen=True)
class Settings:
    """The global options, as every command sees them (``ctx.obj``)."""

    url: str
    format: Format
    user: str | None = None
    roles: tuple[str, ...] = ()
    partner: str | None = None
    tenant: UUID | None = None
    log_json: bool = False

    def actor(self) -> Actor:
        """Who acts; `InvalidInput` (exit 2) when the options do not name one."""
        if not self.user:
            raise InvalidInput(
                "--as",
                "who acts? give --as USER with --role ROLE and --partner ID (or"
                " --tenant-of-actor UUID), or set $LEDGER_USER, $LEDGER_ROLES and $LEDGER_PARTNER",
            )
        return Actor(
            user=self.user,
            roles=parse.roles("--role", list(self.roles)),
            partner_id=self.partner,
            tenant_id=self.tenant,
        )

    def recorded_user(self) -> Actor | str | None:
        """Who runs an audit command, for the log: the actor when --role, --partner or
        --tenant-of-actor name one, the bare --as name of an operator or auditor, or None."""
        if self.user and (self.roles or self.partner or self.tenant):
            return self.actor()
        return self.user

    def open(self, views: ViewsMode = "inline", **options: Any) -> Ledger:
        """The Ledger of ``--url``; library errors become exit codes (see `ledger.cli.errors`)."""
        with reported():
            return Ledger.open(
                self.url, views=views, logger=self.logger(), origin=ORIGIN, **options
            )

    def logger(self) -> Any:
        """JSON lines (info and up) with --log-json; else warnings only, as text: stdout is
        the command's result, and stderr stays quiet unless something is wrong."""
        if self.log_json:
            return ledger.logging.json_logger(sys.stderr)
        return structlog.wrap_logger(
            structlog.PrintLogger(sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        )
