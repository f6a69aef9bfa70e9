"""A product-line policy (R19), a what-if before deploying it, and the switch (R20).

Trial licences of one product line may be cancelled for 72 hours only; everything
else keeps the standard 30 days and R8's credit. The partner first asks what the
policy would have done to the orders already bought, then deploys it: orders
bought before keep the standard policy, new ones get the new one.

    python examples/product_line_policy.py
    ledger audit what-if --policy product_line_policy:SEVENTY_TWO_HOURS   # from examples/
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from ledger import Actor, CancellationPolicy, Customer, Ledger, Money, OrderTerms, Product, Role
from ledger import ProductKind as Kind

SEVENTY_TWO_HOURS_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class ProductLineWindow(CancellationPolicy):
    """The standard windows, except ``short_window`` for the products in ``product_ids``."""

    product_ids: frozenset[str] = frozenset()
    short_window: timedelta = SEVENTY_TWO_HOURS_WINDOW

    def deadline(self, terms: OrderTerms) -> datetime | None:  # type: ignore[override]
        if terms.product.product_id in self.product_ids:
            return terms.purchased_at + self.short_window
        return super().deadline(terms)


STANDARD = CancellationPolicy.default()
SEVENTY_TWO_HOURS = ProductLineWindow(
    STANDARD.windows,
    policy_id="trials-72h/2026-12",  # a new id for every change of the rules (R20)
    product_ids=frozenset({"TRIAL-365"}),
)

TRIAL = Product(
    product_id="TRIAL-365", sku_id="0001", title="Visio Trial", kind=Kind.SUBSCRIPTION, term_days=30
)
OFFICE = Product(product_id="DG7GMGF0D7FV", sku_id="0002", title="Office LTSC", kind=Kind.PERPETUAL)
AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
ACCOUNTS = Actor(user="acc", roles={Role.ACCOUNT_ADMIN}, partner_id="P1")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def main() -> None:
    clock = Clock()
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'ledger.db'}"
    customer = Customer(tenant_id=uuid4(), domain="contoso.example", name="Contoso", market="NL")
    with Ledger.open(url, clock=clock) as led:  # the standard policy
        led.add_customer(AGENT, customer)
        trial = led.purchase(AGENT, customer.tenant_id, TRIAL, 1, Money("30.00", "EUR"))
        office = led.purchase(AGENT, customer.tenant_id, OFFICE, 1, Money("249.00", "EUR"))
        clock.now += timedelta(days=5)
        led.cancel(AGENT, trial)

        report = led.audit.what_if(ACCOUNTS, SEVENTY_TWO_HOURS)
        print(f"what if {report.policy_id}:")
        for row in report.rows:
            credit, candidate = row.credit or "-", row.candidate_credit or "-"
            print(f"  {row.product_id:13} credit {credit}, would be {candidate}:", row.change)
        for currency, totals in report.totals.items():
            print(
                f"  {currency}: credited {totals.actual}, would be {totals.candidate}",
                f"({totals.difference})",
            )

    with Ledger.open(
        url, clock=clock, cancellation_policy=SEVENTY_TWO_HOURS, earlier_policies=(STANDARD,)
    ) as led:
        new_trial = led.purchase(AGENT, customer.tenant_id, TRIAL, 1, Money("30.00", "EUR"))
        old = led.cancellation_status(AGENT, office).cancellable_until
        new = led.cancellation_status(AGENT, new_trial).cancellable_until
        print(f"after the switch: the Office order bought before keeps {old:%Y-%m-%d %H:%M}")
        print(f"                  a trial bought now may be cancelled until {new:%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
