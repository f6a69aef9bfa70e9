"""Run `Command` values against a real `Ledger`, resolving aliases to ids."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.application import Ledger
from ledger.testing.clock import ManualClock
from ledger.testing.commands import (
    AddCustomer,
    AskCancellationStatus,
    Cancel,
    Command,
    Download,
    Purchase,
    RequestRefund,
    ResolveRefund,
    ViewKey,
    Wait,
)

__all__ = ["Driver", "unissued_id"]


def unissued_id(alias: str) -> UUID:
    """A stable id for an alias the ledger never issued (its purchase or request failed)."""
    return uuid5(NAMESPACE_URL, f"ledger.testing:unissued:{alias}")


class Driver:
    """Calls the public API for each command; ``LedgerError``s propagate to the caller."""

    def __init__(self, ledger: Ledger, clock: ManualClock) -> None:
        self.ledger = ledger
        self.clock = clock
        self.order_ids: dict[str, UUID] = {}
        self.refund_ids: dict[str, UUID] = {}

    def order_id(self, alias: str) -> UUID:
        return self.order_ids.get(alias) or unissued_id(alias)

    def refund_id(self, alias: str) -> UUID:
        return self.refund_ids.get(alias) or unissued_id(alias)

    def run(self, command: Command) -> Any:
        led = self.ledger
        match command:
            case Wait(delta):
                return self.clock.advance(delta)
            case AddCustomer(actor, customer):
                return led.add_customer(actor, customer)
            case Purchase():
                order_id = led.purchase(
                    command.actor,
                    tenant_id=command.tenant_id,
                    product=command.product,
                    quantity=command.quantity,
                    unit_price=command.unit_price,
                    idempotency_key=command.idempotency_key,
                    activation=command.activation,
                )
                self.order_ids[command.order] = order_id
                return order_id
            case ViewKey(actor, order):
                return led.view_key(actor, self.order_id(order))
            case Download(actor, order, version, language, bitness, copy):
                link = led.copy_link if copy else led.download
                return link(actor, self.order_id(order), version, language, bitness)
            case AskCancellationStatus(actor, order):
                return led.cancellation_status(actor, self.order_id(order))
            case Cancel(actor, order):
                return led.cancel(actor, self.order_id(order))
            case RequestRefund():
                refund_id = led.request_refund(
                    command.actor,
                    self.order_id(command.order),
                    reason=command.reason,
                    amount=command.amount,
                    contact_name=command.contact_name,
                    contact_email=command.contact_email,
                    contact_phone=command.contact_phone,
                )
                self.refund_ids[command.refund] = refund_id
                return refund_id
            case ResolveRefund(actor, refund, approve, amount):
                return led.resolve_refund(
                    actor, self.refund_id(refund), approve=approve, amount=amount
                )
        raise TypeError(f"not a ledger.testing command: {command!r}")
