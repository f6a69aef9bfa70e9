"""The ``ledger`` command line: thin modules that parse, call the facade and render.

=================  ================================================================
`app`              the root command, its global options, who acts, opening the store
`errors`           exit codes by error class, one-line errors on stderr
`parse`            option text (money, dates, roles) into values; bad text is InvalidInput
`render`           table / JSON / CSV output (JSON is exactly the values' ``to_dict()``)
`progress`         progress bars on a terminal for long work
`demo`             ``ledger demo``: a realistic month in a fresh store, then the views
`customers`        ``ledger customer add|list``
`orders`           ``ledger purchase|status|cancel``
`licences`         ``ledger key|download|copy-link``
`refunds`          ``ledger refund request|resolve|list``
`reports`          ``ledger software|activity|credits|kms-deadline``
`views`            ``ledger views follow|status|rebuild``
`audit`            ``ledger audit digest|verify|key|export|verify-export|as-of``
=================  ================================================================

A command group is a module with its own ``typer.Typer()`` that `ledger.cli.app`
adds with ``app.add_typer(module.app, name=...)``; a single command is a function
that `ledger.cli.app` registers with ``app.command(name)(function)``.
"""

from ledger.cli.app import app, main

__all__ = ["app", "main"]
