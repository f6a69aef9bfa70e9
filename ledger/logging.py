"""The one documented way to get the ledger's log lines as JSON (docs/logging.md).

The library never configures structlog by itself: an application that already
configures it keeps its own set-up, and the ledger's events go through it.
Until an application configures structlog (or passes ``logger=``), the ledger
writes only its warnings, through structlog's defaults: its info lines are
not rendered on every command of an application that never asked for them
(`default_logger`).
An application that has no set-up of its own calls `configure_json` once at
start-up, or passes `json_logger()` to ``Ledger.open(..., logger=...)`` to
leave structlog's global configuration alone::

    import ledger.logging
    ledger.logging.configure_json()              # every structlog logger: JSON lines on stderr

    led = Ledger.open(url, logger=ledger.logging.json_logger().bind(service="billing"))

Each line is one JSON object: ``event`` (``"ledger.command"``, ``"ledger.read"`` ...),
``level``, ``timestamp`` (ISO 8601, UTC) and the event's fields; docs/logging.md
lists them. No line ever holds a licence key.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

__all__ = ["PROCESSORS", "LibraryLogger", "configure_json", "default_logger", "json_logger"]

#: The processors behind both helpers: context variables merged in (the caller's
#: own fields win), the level, an ISO UTC timestamp, exceptions as data, then JSON.
PROCESSORS: tuple[Any, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.dict_tracebacks,
    structlog.processors.JSONRenderer(),
)


def configure_json(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Configure structlog globally: one JSON object per line on ``stream`` (default stderr).

    Lines below ``level`` (a `logging` level: INFO by default, DEBUG to see
    ``ledger.opened``) are dropped before anything is rendered.
    """
    structlog.configure(
        processors=list(PROCESSORS),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def json_logger(stream: TextIO | None = None, level: int = logging.INFO) -> Any:
    """A logger that writes the same JSON lines, without touching structlog's configuration."""
    return structlog.wrap_logger(
        structlog.PrintLogger(stream or sys.stderr),
        processors=list(PROCESSORS),
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )


_QUIET_LEVELS = frozenset({"debug", "info"})


class LibraryLogger:
    """The ledger's logger when ``Ledger.open`` gets no ``logger=``.

    Once the application has configured structlog (``structlog.configure``,
    `configure_json`, or anything else that does), every call goes to
    ``structlog.get_logger("ledger")``, so the lines appear through the
    application's set-up with all their fields, exactly as before. Until then,
    debug and info lines are dropped before anything is built or rendered, and
    warnings and errors still go through structlog's defaults. Checked at each
    call, so configuring structlog after `Ledger.open` works too.
    """

    def enabled(self, level: str) -> bool:
        return level not in _QUIET_LEVELS or structlog.is_configured()

    def _log(self, level: str, event: str, fields: dict[str, Any]) -> Any:
        if self.enabled(level):
            return getattr(structlog.get_logger("ledger"), level)(event, **fields)
        return None

    def debug(self, event: str, **fields: Any) -> Any:
        return self._log("debug", event, fields)

    def info(self, event: str, **fields: Any) -> Any:
        return self._log("info", event, fields)

    def warning(self, event: str, **fields: Any) -> Any:
        return self._log("warning", event, fields)

    def error(self, event: str, **fields: Any) -> Any:
        return self._log("error", event, fields)

    def exception(self, event: str, **fields: Any) -> Any:
        return self._log("exception", event, fields)

    def critical(self, event: str, **fields: Any) -> Any:
        return self._log("critical", event, fields)


_DEFAULT = LibraryLogger()


def default_logger() -> LibraryLogger:
    """The logger the ledger uses when given none (see `LibraryLogger`)."""
    return _DEFAULT
