"""The `Ledger` facade: the only place that knows about transactions, idempotency and access.

It is assembled from one class per area, so that each rule has one home:

========================  ====================================================
`CustomerCommands`        registering customers
`OrderCommands`           purchase (R1–R3, R12), cancellation status and cancel (R6–R9)
`LicenceCommands`         keys, downloads, copied links (R4)
`RefundCommands`          refund requests and their resolution (R10)
`ViewQueries`             software list, activity log (R5), monthly credits
`ViewsControl`            views status and rebuild (§6)
========================  ====================================================

The rules themselves are decided by the aggregates (`ledger.aggregates`) and
the policies (`ledger.policies`); the facade validates input, loads, checks
visibility and role, calls the domain and saves in one write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from ledger.application.customers import CustomerCommands
from ledger.application.licences import LicenceCommands
from ledger.application.orders import OrderCommands
from ledger.application.queries import ViewQueries
from ledger.application.refunds import RefundCommands
from ledger.application.seal import establish_trust
from ledger.application.unit_of_work import Clock, UnitOfWork
from ledger.application.views import ViewsControl
from ledger.application.wiring import Parts, connect
from ledger.audit import Audit
from ledger.errors import InvalidInput
from ledger.policies.cancellation import CancellationPolicy
from ledger.values import ViewsMode

__all__ = ["Ledger"]

log = structlog.get_logger("ledger")


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Ledger(
    CustomerCommands, OrderCommands, LicenceCommands, RefundCommands, ViewQueries, ViewsControl
):
    """Commands and queries of the public API. Open with `Ledger.open`; close, or use ``with``."""

    def __init__(
        self,
        parts: Parts,
        *,
        clock: Clock,
        policy: CancellationPolicy,
        logger: Any,
        views: ViewsMode = "inline",
        views_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            uow=UnitOfWork(parts.events, clock, logger),
            views=parts.views,
            vault=parts.vault,
            policy=policy,
            mode=views,
            views_timeout=views_timeout,
        )
        self._parts = parts
        self._updater.trust = establish_trust(parts.events, parts.audit_key, self._uow.now)
        self._audit = Audit(parts.events, parts.views, self._updater, self._prepare_views)

    def _prepare_views(self) -> None:
        # Audit reads of the views: inline mode applies what was recorded first.
        if self._mode == "inline":
            self._updater.catch_up()

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        secret_key: str | bytes | None = None,
        cancellation_policy: CancellationPolicy | None = None,
        logger: Any = None,
        views: ViewsMode = "inline",
        views_timeout: float = 5.0,
        audit_key: str | bytes | None = None,
    ) -> Ledger:
        """Open a store: ``None``/``memory://``, ``sqlite:///path`` or ``postgresql://...``.

        ``logger`` is a structlog logger for the ``ledger.command`` events
        (default: ``structlog.get_logger("ledger")``), e.g. one with bound context.
        ``views="inline"`` (default) brings the views up to date before each query;
        ``views="follower"`` leaves that to ``ledger views follow`` and waits at most
        ``views_timeout`` seconds for this object's own last write (§6).
        ``audit_key`` (32 bytes, or hex/base64) seals events instead of a key
        derived from the secret key (R18).
        """
        if clock is not None and not callable(clock):
            raise InvalidInput("clock", "must be a zero-argument callable returning a datetime")
        policy = cancellation_policy or CancellationPolicy.default()
        if not isinstance(policy, CancellationPolicy):
            raise InvalidInput("cancellation_policy", "must be a CancellationPolicy")
        if views not in ("inline", "follower"):
            raise InvalidInput("views", "must be 'inline' or 'follower'")
        if (
            isinstance(views_timeout, bool)
            or not isinstance(views_timeout, int | float)
            or not 0 <= views_timeout <= 3600
        ):
            raise InvalidInput("views_timeout", "must be a number of seconds in 0..3600")
        parts = connect(url, secret_key, audit_key)
        ledger = cls(
            parts,
            clock=clock or _system_clock,
            policy=policy,
            logger=logger or log,
            views=views,
            views_timeout=float(views_timeout),
        )
        if views == "inline":
            ledger.catch_up()
        ledger._uow.log.debug("ledger.opened", store=parts.store.description)
        return ledger

    def close(self) -> None:
        self._parts.events.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def audit(self) -> Audit:
        """R18: rebuild, state as of an instant, exports, hash-chain digest and verify."""
        return self._audit

    @property
    def views_mode(self) -> ViewsMode:
        return self._mode

    @property
    def cancellation_policy(self) -> CancellationPolicy:
        return self._policy

    def catch_up(self) -> int:
        """Apply recorded events to the views; returns how many were applied."""
        return self._updater.catch_up()
