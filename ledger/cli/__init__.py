"""The ``ledger`` command line (SPEC §7): thin modules that parse, call the facade and render.

=================  ================================================================
`app`              the root command, its global options and how a Ledger is opened
`errors`           exit codes by error class, one-line errors on stderr
`render`           table / JSON / CSV output
`progress`         progress bars on a terminal for long work
`views`            ``ledger views follow|status|rebuild``
`audit`            ``ledger audit digest|verify|export|verify-export|as-of``
=================  ================================================================

A new command group is a module with its own ``typer.Typer()`` that
`ledger.cli.app` adds with ``app.add_typer(module.app, name=...)``.
"""

from ledger.cli.app import app, main

__all__ = ["app", "main"]
