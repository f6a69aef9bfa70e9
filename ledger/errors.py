"""Every error the ledger raises on purpose.

::

    LedgerError
    ├── InvalidInput (also a ValueError)     R15: bad input, nothing written
    ├── ClockError                           R16: the clock returned no usable aware time
    ├── ConfigurationError                   a store URL, secret key or policy that cannot be used
    │   └── StoreUnavailable                 the database failed: nothing half-written
    ├── AccessDenied                         R11: visible, but this actor may not do that
    ├── OrderNotFound                        R11: does not exist, or not visible to this actor
    │   ├── CustomerNotFound
    │   ├── RefundNotFound
    │   └── WebhookNotFound
    ├── CustomerConflict                     this partner registered the tenant with other details
    ├── MarketUnavailable                    R1
    ├── KmsNotAllowed                        R3
    ├── CancellationWindowClosed             R6
    ├── NotCancellable                       R6
    ├── AlreadyCancelled                     R6, R13
    ├── KeyRevoked                           R4, R7
    ├── IdempotencyConflict                  R12
    ├── RefundNotPossible                    R10: the order is not past its window
    ├── RefundAlreadyResolved                R10
    ├── EventDecodingError                   a stored event cannot be read back (damaged store)
    ├── ProjectionError                      R15: the views stop at an event that cannot be applied
    └── ViewsBehind                          §6: a follower has not applied this Ledger's write yet

`CustomerNotFound`, `RefundNotFound` and `WebhookNotFound` are `OrderNotFound`s so that a caller
that treats "not visible" uniformly needs a single ``except`` clause.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose.

    ``code`` is stable and machine-readable (docs/errors.md lists them all);
    ``details`` holds what a caller may act on (the existing order of an
    idempotency conflict, when an order was cancelled); ``to_dict()`` gives both
    with the message, JSON-ready.
    """

    code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message)
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        from ledger._json import json_value  # noqa: PLC0415  # errors import nothing at load

        return {
            "code": self.code,
            "type": type(self).__name__,
            "message": str(self),
            **{name: json_value(value) for name, value in self.details.items()},
        }


class InvalidInput(LedgerError, ValueError):
    """A command's input is malformed; ``field`` names the offending argument."""

    code = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}", param=field)


class ClockError(LedgerError):
    """The injected clock returned something other than an aware datetime in range, or raised."""

    code = "clock_error"


class ConfigurationError(LedgerError):
    """The store URL, schema, secret key or a custom policy's result cannot be used."""

    code = "configuration_error"


class StoreUnavailable(ConfigurationError):
    """The database could not be reached, or stayed locked past its timeout.

    A command that raises it recorded all of its events or none of them; the
    same `Ledger` works again once the database answers. A write whose
    connection died while it committed may have been recorded: run it again
    (a purchase with an idempotency key returns the same order).
    """

    code = "store_unavailable"


class AccessDenied(LedgerError):
    """The actor may see the object but not perform this action on it."""

    code = "access_denied"


class OrderNotFound(LedgerError):
    """The order does not exist, or the actor may not see it (indistinguishable)."""

    code = "order_not_found"


class CustomerNotFound(OrderNotFound):
    """The tenant is not registered, or belongs to another partner."""

    code = "customer_not_found"


class RefundNotFound(OrderNotFound):
    """The refund request does not exist, or the actor may not see it."""

    code = "refund_not_found"


class WebhookNotFound(OrderNotFound):
    """The webhook endpoint does not exist, was removed, or is another partner's."""

    code = "webhook_not_found"


class CustomerConflict(LedgerError):
    """This partner registered the tenant before, with other details.

    Another partner's registration of the same tenant never conflicts (R11).
    """

    code = "customer_conflict"


class MarketUnavailable(LedgerError):
    """R1: this product kind cannot be sold in the customer's market."""

    code = "market_unavailable"


class KmsNotAllowed(LedgerError):
    """R3: activation is MAK only."""

    code = "kms_not_allowed"


class CancellationWindowClosed(LedgerError):
    """R6: the cancellation deadline has passed."""

    code = "cancellation_window_closed"


class NotCancellable(LedgerError):
    """R6: this product kind is never cancellable through the ledger."""

    code = "not_cancellable"


class AlreadyCancelled(LedgerError):
    """R6/R13: the order was cancelled before; ``details`` say when and what it credited."""

    code = "already_cancelled"


class KeyRevoked(LedgerError):
    """R4/R7: the licence key and its download links are revoked."""

    code = "key_revoked"


class IdempotencyConflict(LedgerError):
    """R12: the idempotency key was used before with different parameters; ``details`` name
    the order it made (``order_id``)."""

    code = "idempotency_conflict"


class RefundNotPossible(LedgerError):
    """R10: a refund request needs an order whose cancellation window has closed."""

    code = "refund_not_possible"


class RefundAlreadyResolved(LedgerError):
    """R10: the refund request was approved or declined before."""

    code = "refund_already_resolved"


class EventDecodingError(LedgerError):
    """A stored event cannot be read back: unknown topic, damaged bytes or a schema mismatch.

    ``topic``, ``originator_id`` and ``originator_version`` say which stored row it was.
    """

    code = "event_decoding_error"

    def __init__(self, message: str, *, topic: str, originator_id: object, version: int) -> None:
        self.topic = topic
        self.originator_id = originator_id
        self.originator_version = version
        super().__init__(message, topic=topic, originator_version=version)


class ProjectionError(LedgerError):
    """R15: a stored event cannot be checked, decoded or applied, so the views stop before it.

    ``position`` is the event's place in the log; commands and `Ledger.open` still
    work, only the queries that need the views raise this.
    """

    code = "projection_error"

    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        self.problem = problem
        super().__init__(f"the views stop before position {position}: {problem}", position=position)


class ViewsBehind(LedgerError):
    """§6: in follower mode, the views did not reach this Ledger's last write in time."""

    code = "views_behind"

    def __init__(self, position: int, views_position: int, waited: float) -> None:
        self.position = position
        self.views_position = views_position
        self.waited = waited
        super().__init__(
            f"the views are at position {views_position}, this ledger wrote position"
            f" {position}; waited {waited:.1f} s (is a follower running?)",
            position=position,
            views_position=views_position,
        )
