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

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from ledger import _validate, logs
from ledger.application import wiring
from ledger.application.customers import CustomerCommands
from ledger.application.feed import FeedQueries
from ledger.application.licences import LicenceCommands
from ledger.application.orders import OrderCommands
from ledger.application.queries import ViewQueries
from ledger.application.refunds import RefundCommands
from ledger.application.seal import establish_trust
from ledger.application.unit_of_work import Clock, UnitOfWork, read_clock
from ledger.application.views import ViewsControl
from ledger.application.webhooks import WebhookCommands
from ledger.application.wiring import Parts
from ledger.audit import Audit
from ledger.errors import ConfigurationError, InvalidInput, LedgerError
from ledger.faults import guarded, is_store_fault
from ledger.logging import default_logger
from ledger.policies.calls import PolicyBook
from ledger.policies.cancellation import CancellationPolicy
from ledger.projections import backfill
from ledger.projections.rebuild import rebuild_live_views
from ledger.values import Actor, ViewsMode, actor_or_name

__all__ = ["Ledger"]

log = default_logger()
T = TypeVar("T")


def _opened(step: Callable[[], T]) -> T:
    """At open, a database that fails (refused, locked, not a database) is unusable."""
    try:
        return step()
    except LedgerError:
        raise
    except OSError as error:
        raise ConfigurationError(f"the store cannot be opened: {error}") from error
    except Exception as error:
        if is_store_fault(error):
            first_line = (str(error).strip().splitlines() or [""])[0][:200]
            raise ConfigurationError(
                f"the store cannot be opened ({type(error).__name__}: {first_line})"
            ) from error
        raise


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Ledger(
    CustomerCommands,
    OrderCommands,
    LicenceCommands,
    RefundCommands,
    ViewQueries,
    FeedQueries,
    WebhookCommands,
    ViewsControl,
):
    """Commands and queries of the public API. Open with `Ledger.open`; close, or use ``with``."""

    def __init__(
        self,
        parts: Parts,
        *,
        clock: Clock,
        policies: PolicyBook,
        logger: Any,
        views: ViewsMode = "inline",
        views_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            uow=UnitOfWork(parts.events, clock, logger),
            views=parts.views,
            replica=parts.replica,
            vault=parts.vault,
            policies=policies,
            mode=views,
            views_timeout=views_timeout,
            trail=parts.trail,
        )
        self._parts = parts
        self._updater.trust = establish_trust(parts.events, parts.audit_key, self._uow.now)
        self._audit = Audit(
            parts.events,
            parts.views,
            self._updater,
            self._prepare_views,
            log=self._uow.log,
            vault=parts.vault,
            store_files=parts.store.files(),
            trail=parts.trail,
            now=self._uow.now,
        )

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
        previous_keys: Sequence[str | bytes] = (),
        cancellation_policy: CancellationPolicy | None = None,
        earlier_policies: Sequence[CancellationPolicy] = (),
        logger: Any = None,
        views: ViewsMode = "inline",
        views_timeout: float = 5.0,
        audit_key: str | bytes | None = None,
        origin: str | None = None,
        replica_url: str | None = None,
    ) -> Ledger:
        """Open a store: ``memory://``, ``sqlite:///path`` or ``postgresql://...``; with no
        ``url``, ``$LEDGER_URL`` (as the ``ledger`` command reads it), else ``memory://``.

        Everything is checked before anything is written: the arguments, the
        clock (called once: a naive time, a non-datetime or a time outside
        years 1000-8999 is a `ClockError`), the URL (`InvalidInput`), and the
        secret key against the one the store records (`ConfigurationError`).
        ``previous_keys`` are older secret keys (R14): what they wrapped stays
        readable, new keys are wrapped under ``secret_key``, and
        `rewrap_keys` moves the rest. ``logger`` is a structlog logger for the
        ``ledger.command`` events (default: ``structlog.get_logger("ledger")`` once the
        application has configured structlog; until then only warnings, docs/logging.md).
        ``views="inline"`` (default) brings the views up to date before each query;
        ``views="follower"`` leaves that to ``ledger views follow`` and waits at most
        ``views_timeout`` seconds for this object's own last write (§6).
        ``audit_key`` (32 bytes, or hex/base64) seals events instead of the
        store's own audit key (R18).
        ``cancellation_policy`` (default `CancellationPolicy.default()`) governs the orders
        bought from now on; ``earlier_policies`` are the policies older orders were bought
        under (R20): an order is always decided by the policy whose ``policy_id`` it
        recorded, and one whose policy is in neither is a `ConfigurationError` naming it.
        ``origin`` (a host, a service: up to 300 characters) is written into the trail with
        every audit read, admin action and refusal of this object (R21).
        ``replica_url`` (PostgreSQL only, the same schema) sends the queries of the views to
        a replica, e.g. ``postgresql://h2,h3/db?target_session_attrs=prefer-standby``;
        commands, audit reads and the views' upkeep stay on ``url``. A query still sees
        this object's own writes: it waits at most ``views_timeout`` seconds for the
        replica to hold them, then raises `ViewsBehind` (§12, docs/scaling.md).
        """
        if clock is not None and not callable(clock):
            raise InvalidInput("clock", "must be a zero-argument callable returning a datetime")
        clock = clock or _system_clock
        read_clock(clock)
        policies = PolicyBook(
            CancellationPolicy.default() if cancellation_policy is None else cancellation_policy,
            earlier_policies,
        )
        if logger is not None and not all(
            callable(getattr(logger, level, None)) for level in ("debug", "info", "warning")
        ):
            raise InvalidInput("logger", "must be a structlog-style logger (debug, info, warning)")
        if views not in ("inline", "follower"):
            raise InvalidInput("views", "must be 'inline' or 'follower'")
        if (
            isinstance(views_timeout, bool)
            or not isinstance(views_timeout, int | float)
            or not 0 <= views_timeout <= 3600
        ):
            raise InvalidInput("views_timeout", "must be a number of seconds in 0..3600")
        if origin is not None:
            origin = _validate.text("origin", origin)
        if url is None:
            url = os.environ.get("LEDGER_URL") or None
        previous = wiring.previous_keys(previous_keys)
        parts = _opened(
            lambda: wiring.connect(
                url, secret_key, previous, audit_key, logger, origin, replica_url
            )
        )
        try:
            ledger = _opened(
                lambda: cls(
                    parts,
                    clock=clock,
                    policies=policies,
                    logger=logger or log,
                    views=views,
                    views_timeout=float(views_timeout),
                )
            )
            _opened(ledger._fill_new_views)
            if views == "inline":
                _opened(ledger.catch_up)
        except BaseException:
            parts.close()
            raise
        logs.emit(ledger._uow.log, "debug", "ledger.opened", store=parts.store.description)
        return ledger

    def _fill_new_views(self) -> None:
        """Views built by a release without the customer list or the feed: rebuild them
        once, from the log.

        Until the rebuild commits, the first registration still has no row, so a
        rebuild cut short (a crash, a kill) is done again at the next open.
        """
        position, _ = self._views.chain_head()
        recorder = self._uow.events.recorder
        missing = backfill.missing_history(self._query, recorder, position)
        if missing is not None:
            logs.emit(
                self._uow.log,
                "warning",
                "ledger.views_upgrade",
                position=position,
                reason=f"views built before {missing}: rebuilding them from the log once",
            )
            built = rebuild_live_views(self._uow.events, self._views, self._updater.trust)
            self._updater.failure = built.failure

    def close(self) -> None:
        self._parts.close()

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
        """The policy new orders are bought under (R20)."""
        policy: CancellationPolicy = self._policies.current.policy
        return policy

    @guarded
    def catch_up(self) -> int:
        """Apply recorded events to the views; returns how many were applied."""
        return self._catch_up()

    @guarded
    def rewrap_keys(self, *, actor: Actor | str | None = None) -> int:
        """R14: wrap every stored key under the current secret key; how many were moved.

        Open the store with the new key and the old ones in ``previous_keys``,
        call this once, and the old keys are no longer needed. No stored
        event is changed: only the key table (``ledger_wrapped_keys``). The rewrap is
        an admin action in the trail, with ``actor`` (an `Actor` or a name) when given.
        """
        self._trail.admin(actor_or_name(actor), "rewrap_keys", self._uow.now())
        moved = self._vault.rewrap()
        logs.emit(
            self._uow.log, "info", "ledger.keys_rewrapped", moved=moved, key_id=self._vault.key_id
        )
        return moved
