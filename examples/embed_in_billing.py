"""A billing system embeds the ledger: places orders, handles every error class, invoices credits.

The billing system keeps its own purchase orders (PO numbers) and invoices;
the ledger keeps the orders, keys and credits. Each PO number is the
purchase's idempotency key, so a PO sent twice (a retry after a timeout) is
one order (R12). Every `LedgerError` the ledger can raise maps to what billing
does about it (`HANDLING`; the run below meets all but the three a damaged or
unreachable store raises); at the end of each month the ledger's credits become
lines on the customer's invoice.

Run it: ``python examples/embed_in_billing.py [STORE_URL]`` (default: in memory).
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import ledger.logging
from ledger import (
    Actor,
    Customer,
    Ledger,
    Money,
    Product,
    ProductKind,
    Role,
)
from ledger import errors as e

SILENT = ledger.logging.json_logger(io.StringIO(), level=logging.CRITICAL)

# -- what billing does about each error ------------------------------------------------------


@dataclass(frozen=True)
class Handling:
    action: str  # "reject": tell the requester; "escalate": a person looks; "retry": later
    why: str


#: Every error class the ledger raises, most specific first (subclasses before their bases).
HANDLING: dict[type[e.LedgerError], Handling] = {
    e.InvalidInput: Handling("reject", "the PO is malformed; InvalidInput.field names what"),
    e.CustomerNotFound: Handling("reject", "the customer is not registered with us"),
    e.RefundNotFound: Handling("reject", "no such refund request"),
    e.WebhookNotFound: Handling("reject", "no such webhook endpoint (or removed)"),
    e.OrderNotFound: Handling("reject", "no such order (or not ours)"),
    e.AccessDenied: Handling("escalate", "our service account lacks a role"),
    e.CustomerConflict: Handling("escalate", "the customer's details changed: fix master data"),
    e.MarketUnavailable: Handling("reject", "not sold in the customer's market"),
    e.KmsNotAllowed: Handling("reject", "MAK activation only"),
    e.CancellationWindowClosed: Handling("reject", "too late to cancel: file a refund request"),
    e.NotCancellable: Handling("reject", "this kind of product is never cancellable"),
    e.AlreadyCancelled: Handling("ignore", "cancelled before: nothing more to credit"),
    e.KeyRevoked: Handling("reject", "the order was cancelled or refunded"),
    e.IdempotencyConflict: Handling("escalate", "a PO number was reused for another order"),
    e.RefundNotPossible: Handling("reject", "still cancellable, or nothing left to refund"),
    e.RefundAlreadyResolved: Handling("ignore", "support answered already"),
    e.ClockError: Handling("escalate", "our clock is broken"),
    e.StoreUnavailable: Handling("retry", "the database is down; nothing was half-written"),
    e.ConfigurationError: Handling("escalate", "wrong store URL or secret key"),
    e.EventDecodingError: Handling("escalate", "a damaged store: call the operator"),
    e.ProjectionError: Handling("escalate", "the views stop at a damaged event"),
    e.ViewsBehind: Handling("retry", "the view follower is behind (is it running?)"),
    e.LedgerError: Handling("escalate", "an error we do not know yet"),
}


def handling(error: e.LedgerError) -> Handling:
    for kind in type(error).__mro__:
        if kind in HANDLING:
            return HANDLING[kind]
    raise AssertionError("LedgerError is in HANDLING")


# -- the billing system ----------------------------------------------------------------------

SERVICE = Actor(user="billing-svc", roles={Role.ADMIN_AGENT, Role.ACCOUNT_ADMIN}, partner_id="P1")
SUPPORT = Actor(user="vendor-support", roles={Role.SUPPORT})
CONTACT = {"contact_name": "Pat", "contact_email": "pat@contoso.example"}
PHONE = "+31 20 555 0100"
T = TypeVar("T")


def attempt(what: str, call: Callable[[], T]) -> T | None:
    """Run one ledger call; a refusal is handled as `HANDLING` says, never raised further."""
    try:
        result = call()
    except e.LedgerError as error:
        todo = handling(error)
        print(f"  {what}: {todo.action}, {todo.why} ({type(error).__name__}: {error})")
        return None
    print(f"  {what}: ok")
    return result


@dataclass(frozen=True)
class InvoiceLine:
    customer: str
    text: str
    amount: Decimal  # negative: a credit
    currency: str


class Billing:
    """Billing's side: its customers' names, its PO numbers, its invoice lines."""

    def __init__(self, led: Ledger) -> None:
        self.led = led
        self.names: dict[UUID, str] = {}
        self.orders: dict[str, UUID] = {}  # PO number -> the ledger's order id

    def register(self, customer: Customer) -> None:
        self.names.setdefault(customer.tenant_id, customer.name)
        attempt(f"register {customer.name}", lambda: self.led.add_customer(SERVICE, customer))

    def place(
        self, po: str, tenant: UUID, product: Product, quantity: Any, price: str, **extra: Any
    ) -> UUID | None:
        """A purchase order: its number is the idempotency key (R12)."""
        amount, currency = price.split()
        customer = self.names.get(tenant, str(tenant)[:8])
        order = attempt(
            f"{po}: {quantity} × {product.title} for {customer}",
            lambda: self.led.purchase(
                SERVICE,
                tenant,
                product,
                quantity,
                Money(amount, currency),
                idempotency_key=po,
                **extra,
            ),
        )
        if order is not None:
            self.orders[po] = order
        return order

    def refund(self, po: str, reason: str, amount: Money) -> UUID | None:
        return attempt(
            f"refund request for {po}",
            lambda: self.led.request_refund(
                SERVICE,
                self.orders[po],
                reason=reason,
                amount=amount,
                contact_phone=PHONE,
                **CONTACT,
            ),
        )

    def month_end(self, month: str) -> list[InvoiceLine]:
        """The ledger's credits of ``month`` as lines on billing's invoices (negative amounts)."""
        statement = self.led.monthly_credits(SERVICE, month)
        po_of = {order: po for po, order in self.orders.items()}
        return [
            InvoiceLine(
                customer=self.names[line.tenant_id],
                text=f"credit for {po_of.get(line.order_id, line.order_id)} ({line.reason})",
                amount=-line.amount.amount,
                currency=line.amount.currency,
            )
            for line in statement.lines
        ]


OFFICE = Product("DG7GMGF0D7FV", "0002", "Office LTSC 2024", ProductKind.PERPETUAL, None, ("2024",))
PROJECT = Product("CFQ7TTC0HDH0", "0001", "Project Plan 3", ProductKind.SUBSCRIPTION, 365)
RESERVATION = Product("DZH318Z0BPS6", "00NC", "Azure reserved VM", ProductKind.AZURE_RESERVATION)
CONTOSO = Customer(UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e"), "contoso.example", "Contoso", "NL")
WOODGROVE = Customer(
    UUID("5d6e7f80-9a1b-4c2d-9e3f-4a5b6c7d8e9f"), "woodgrove.example", "Woodgrove", "CN"
)


class Clock:
    """Billing's clock, injected so that this example prints the same every run (R16)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def november(billing: Billing, clock: Clock) -> None:
    led = billing.led
    print("2026-11-02 purchase orders")
    billing.register(CONTOSO)
    billing.register(WOODGROVE)
    billing.register(Customer(CONTOSO.tenant_id, "contoso.example", "Contoso B.V.", "NL"))
    first = billing.place("PO-1001", CONTOSO.tenant_id, OFFICE, 10, "249.00 EUR")
    retried = billing.place("PO-1001", CONTOSO.tenant_id, OFFICE, 10, "249.00 EUR")
    billing.place("PO-1001", CONTOSO.tenant_id, OFFICE, 12, "249.00 EUR")  # the PO reused
    billing.place("PO-1002", CONTOSO.tenant_id, PROJECT, 20, "10.50 EUR")
    billing.place("PO-1003", CONTOSO.tenant_id, PROJECT, "20", "10.50 EUR")  # text, not a number
    billing.place("PO-1004", WOODGROVE.tenant_id, RESERVATION, 1, "900.00 USD")
    billing.place("PO-1005", UUID(int=5), OFFICE, 1, "249.00 EUR")
    billing.place("PO-1006", CONTOSO.tenant_id, OFFICE, 1, "249.00 EUR", activation="KMS")
    billing.place("PO-1007", CONTOSO.tenant_id, RESERVATION, 1, "900.00 EUR")
    print(f"  PO-1001 sent twice is one order: {first == retried}")

    clock.now += timedelta(days=3)
    print("2026-11-05 changes")
    project = billing.orders["PO-1002"]
    attempt("cancel PO-1002", lambda: led.cancel(SERVICE, project))
    attempt("cancel PO-1002 again", lambda: led.cancel(SERVICE, project))
    attempt("cancel PO-1007", lambda: led.cancel(SERVICE, billing.orders["PO-1007"]))
    attempt("licence key of PO-1002", lambda: led.view_key(SERVICE, project))
    attempt("status of an unknown order", lambda: led.cancellation_status(SERVICE, UUID(int=1)))
    attempt("remove an unknown webhook endpoint", lambda: led.remove_webhook(SERVICE, UUID(int=2)))
    reporting = Actor(user="reporting", roles={Role.REFERRAL_ADMIN}, partner_id="P1")
    attempt("credits read by a referral admin", lambda: led.monthly_credits(reporting, "2026-11"))
    billing.refund("PO-1001", "ten seats unused", Money("249.00", "EUR"))


def december(billing: Billing, clock: Clock) -> None:
    led = billing.led
    clock.now += timedelta(days=30)
    print("2026-12-05 past the window")
    office = billing.orders["PO-1001"]
    attempt("cancel PO-1001", lambda: led.cancel(SERVICE, office))
    refund = billing.refund("PO-1001", "one seat unused", Money("249.00", "EUR"))
    assert refund is not None
    attempt("support approves it", lambda: led.resolve_refund(SUPPORT, refund, approve=True))
    attempt("support approves it again", lambda: led.resolve_refund(SUPPORT, refund, approve=True))
    attempt(
        "approve an unknown refund", lambda: led.resolve_refund(SUPPORT, UUID(int=9), approve=True)
    )


def misconfigured() -> None:
    print("set-up mistakes")
    attempt(
        "open with a clock without a time zone",
        lambda: Ledger.open(clock=lambda: datetime(2026, 1, 1)),
    )
    attempt("open with a secret key of 5 bytes", lambda: Ledger.open(secret_key=b"short"))
    with Ledger.open(views="follower", views_timeout=0.05, logger=SILENT) as followed:
        followed.add_customer(SERVICE, CONTOSO)
        # Nothing applies the views (no `ledger views follow` runs): the read gives up.
        attempt(
            "credits with no follower running", lambda: followed.monthly_credits(SERVICE, "2026-11")
        )


def main(url: str | None) -> None:
    log = io.StringIO()  # the ledger's JSON log lines, as billing's log shipper would take them
    logger = ledger.logging.json_logger(log).bind(service="billing")
    clock = Clock()
    with Ledger.open(url, clock=clock, logger=logger) as led:
        billing = Billing(led)
        november(billing, clock)
        december(billing, clock)
        for month in ("2026-11", "2026-12"):
            print(f"invoice lines {month}")
            for line in billing.month_end(month):
                print(f"  {line.customer}: {line.text} {line.amount} {line.currency}")
    misconfigured()
    lines = [json.loads(text) for text in log.getvalue().splitlines()]
    refused = [line for line in lines if line.get("outcome") not in (None, "ok")]
    print(f"the ledger logged {len(lines)} JSON lines for billing, {len(refused)} of them refusals")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
