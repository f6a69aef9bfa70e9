"""The `Ledger` facade: the only place that knows about transactions, idempotency and access.

It is assembled from one class per area, so that each rule has one home:

========================  ====================================================
`CustomerCommands`        registering customers
`OrderCommands`           purchase (R1–R3, R12), cancellation status and cancel (R6–R9)
`LicenceCommands`         keys, downloads, copied links (R4)
`RefundCommands`          refund requests and their resolution (R10)
`ViewQueries`             software list, activity log (R5), monthly credits
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
from ledger.application.unit_of_work import Clock, UnitOfWork
from ledger.application.wiring import Parts, connect
from ledger.audit import Audit
from ledger.errors import InvalidInput
from ledger.policies.cancellation import CancellationPolicy

__all__ = ["Ledger"]

log = structlog.get_logger("ledger")


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Ledger(CustomerCommands, OrderCommands, LicenceCommands, RefundCommands, ViewQueries):
    """Commands and queries of the public API. Open with `Ledger.open`; close, or use ``with``."""

    def __init__(
        self, parts: Parts, *, clock: Clock, policy: CancellationPolicy, logger: Any
    ) -> None:
        super().__init__(
            uow=UnitOfWork(parts.events, clock, logger),
            views=parts.views,
            vault=parts.vault,
            policy=policy,
        )
        self._parts = parts
        self._audit = Audit(parts.events, parts.views, self._updater)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        secret_key: str | bytes | None = None,
        cancellation_policy: CancellationPolicy | None = None,
        logger: Any = None,
    ) -> Ledger:
        """Open a store: ``None``/``memory://``, ``sqlite:///path`` or ``postgresql://...``.

        ``logger`` is a structlog logger for the ``ledger.command`` events
        (default: ``structlog.get_logger("ledger")``), e.g. one with bound context.
        """
        if clock is not None and not callable(clock):
            raise InvalidInput("clock", "must be a zero-argument callable returning a datetime")
        policy = cancellation_policy or CancellationPolicy.default()
        if not isinstance(policy, CancellationPolicy):
            raise InvalidInput("cancellation_policy", "must be a CancellationPolicy")
        parts = connect(url, secret_key)
        ledger = cls(parts, clock=clock or _system_clock, policy=policy, logger=logger or log)
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
    def cancellation_policy(self) -> CancellationPolicy:
        return self._policy

    def catch_up(self) -> int:
        """Apply recorded events to the views; returns how many were applied."""
        return self._updater.catch_up()
