"""The facade's log lines: one per command, read and export, never a key, never the caller's fields.

Every line names the actor (``user``, ``roles``, ``partner_id``, and
``actor_tenant_id`` for a customer user) and its ``outcome``: ``"ok"``, or the
class of the `LedgerError` that refused it, with the error's message as ``error``.
Error messages name fields, ids, roles and amounts; none of them ever quotes
a licence key (R14), so they may be logged as they are.

The caller's logger may carry fields of its own (``logger.bind(store=...)``, or
structlog's context variables). A field of the ledger's whose name the caller
already uses for another value is written as ``ledger_<name>`` instead, so the
caller's value is never overwritten and the ledger's is not lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import structlog

from ledger.errors import LedgerError
from ledger.logging import LibraryLogger
from ledger.values import Actor

__all__ = ["actor_fields", "dropped", "emit", "logged", "own_fields"]


def _callers_fields(logger: Any) -> Mapping[str, Any]:
    """What the caller bound: on the logger itself, and in structlog's context variables."""
    bound: dict[str, Any] = dict(structlog.contextvars.get_contextvars())
    with contextlib.suppress(AttributeError, TypeError):
        bound.update(structlog.get_context(logger))
    return bound


def own_fields(logger: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields``, each under a name the caller does not use for another value."""
    taken = _callers_fields(logger)
    return {
        (f"ledger_{name}" if name in taken and taken[name] != value else name): value
        for name, value in fields.items()
    }


def dropped(logger: Any, level: str) -> bool:
    """True when a line at ``level`` would be dropped anyway: then there is nothing to build.

    The default logger drops info and debug while structlog is unconfigured; a
    structlog filtering logger's method for a level below its own does nothing
    (``_nop``). Gathering the caller's and the actor's fields was most of a
    query's logging cost with info lines filtered out.
    """
    if isinstance(logger, LibraryLogger):
        return not logger.enabled(level)
    method = getattr(logger, level)
    return getattr(method, "__name__", None) == "_nop" and callable(method)


def emit(logger: Any, level: str, event: str, **fields: Any) -> None:
    if not dropped(logger, level):
        _write(logger, level, event, fields)


def _write(logger: Any, level: str, event: str, fields: dict[str, Any]) -> None:
    getattr(logger, level)(event, **own_fields(logger, fields))


def actor_fields(actor: Actor | str | None) -> dict[str, Any]:
    """The actor's fields; a plain name is an operator's (the audit exports' ``actor=``)."""
    if actor is None or isinstance(actor, str):
        return {"user": actor}
    fields: dict[str, Any] = {
        "user": actor.user,
        "roles": sorted(role.value for role in actor.roles),
        "partner_id": actor.partner_id,
    }
    if actor.tenant_id is not None:
        fields["actor_tenant_id"] = str(actor.tenant_id)
    return fields


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextlib.contextmanager
def logged(
    logger: Any, event: str, actor: Actor | str | None, **context: Any
) -> Iterator[dict[str, Any]]:
    """Log one ``event`` line when the body ends: its outcome, and the error's message if refused.

    The body may add fields to the dict it is given (an order id, a row count).
    """
    bound = dict(context)
    if dropped(logger, "info"):
        yield bound
        return
    try:
        yield bound
    except LedgerError as error:
        _write(
            logger,
            "info",
            event,
            dict(
                **bound,
                **actor_fields(actor),
                outcome=type(error).__name__,
                error=_one_line(str(error)),
            ),
        )
        raise
    _write(logger, "info", event, dict(**bound, **actor_fields(actor), outcome="ok"))
