"""What `LedgerStateMachine` draws from: who acts, what is bought, how much is refunded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast
from uuid import UUID, uuid4

from hypothesis import strategies as st

from ledger.money import MAX_AMOUNT, Money, minor_unit_exponent
from ledger.testing.commands import Purchase
from ledger.testing.model import ModelOrder
from ledger.testing.shapes import ProductShape
from ledger.testing.strategies import markets, unit_prices
from ledger.values import Actor, Role

__all__ = [
    "AGENT_MOSTLY",
    "ANY_INDEX",
    "CURRENCIES",
    "MARKETS",
    "MAX_TENANTS",
    "NAMES",
    "PARTNERS",
    "QUANTITIES",
    "REFUND_AMOUNTS",
    "SHAPES",
    "UNIT_PRICES",
    "WHO",
    "actor_for",
    "refund_amount",
    "retried",
]

PARTNERS = ("P1", "P2")
#: Customer names a story reads easily (a name's characters are fuzzed elsewhere: R15).
NAMES = st.sampled_from(
    ("Contoso", "Fabrikam", "Northwind", "Tailspin Toys", "Litware", "Adatum", "Woodgrove")
)
# Enough tenants for isolation to matter; more only slow every step's checks.
MAX_TENANTS = 4

#: Who acts, relative to the order or tenant in hand. The right actor comes up
#: most often so that sequences get past the access checks to the rules.
WHO = ("agent",) * 6 + ("customer", "customer", "admin", "sales", "rival", "stranger", "support")
#: For cancelling and refund requests, which only the partner's admin agent may do.
AGENT_MOSTLY = ("agent",) * 8 + ("admin", "customer", "rival", "support")

_ROLE_OF = {
    "agent": Role.ADMIN_AGENT,
    "admin": Role.GLOBAL_ADMIN,
    "sales": Role.SALES_AGENT,
}
REFUND_AMOUNTS = (
    "total",
    "total",
    "half",
    "third",
    "twice the total",
    "what is left",
    "what is left",
    "one unit more than is left",
)
# Currencies with 2, 0 and 3 decimals, so rounding is exercised at every scale.
CURRENCIES = ("EUR", "JPY", "KWD")
# Markets: taxed inclusively (AU), R1-restricted (CN, XK) and ordinary ones.
MARKETS = st.one_of(st.sampled_from(("NL", "AU", "BR", "CN", "XK", "US")), markets())


#: An index to take modulo a list's length. Not ``st.integers``: hypothesis draws
#: its lower bound about a third of the time, which would aim at the first target.
ANY_INDEX = st.sampled_from(range(840))
QUANTITIES = st.integers(1, 100_000) | st.integers(1, 5)
# Odd small prices on terms of 2 and 4 days make exact halves for R8's rounding.
UNIT_PRICES = unit_prices(st.sampled_from(CURRENCIES)) | st.sampled_from(
    tuple(Money.from_minor_units(cents, "EUR") for cents in (1, 5, 15, 25))
)


def _shapes_of(machine: Any) -> st.SearchStrategy[ProductShape]:
    # st.runner() is the running machine: its (overridable) hook decides what is bought.
    return cast(st.SearchStrategy[ProductShape], machine._shapes_to_buy())


#: What the purchase rules buy: the running `LedgerStateMachine`'s ``product_shapes()``.
SHAPES = st.runner().flatmap(_shapes_of)


def actor_for(who: str, partner_id: str, tenant_id: UUID) -> Actor:
    """The actor a `WHO` slot names, for an object of ``partner_id``/``tenant_id``."""
    if who in _ROLE_OF:
        return Actor(user=who, roles={_ROLE_OF[who]}, partner_id=partner_id)
    if who == "rival":
        other = next(p for p in PARTNERS if p != partner_id)
        return Actor(user="rival", roles={Role.ADMIN_AGENT}, partner_id=other)
    if who == "customer":
        return Actor(user="customer", roles={Role.GLOBAL_ADMIN}, tenant_id=tenant_id)
    if who == "stranger":
        return Actor(user="stranger", roles={Role.GLOBAL_ADMIN}, tenant_id=uuid4())
    return Actor(user="support", roles={Role.SUPPORT})


def refund_amount(amount: str, found: ModelOrder | None, *, other_currency: bool) -> Money:
    """A `REFUND_AMOUNTS` slot as money: a share of the order's total or of what is left
    (an order never bought counts as 100.00 EUR); in another currency if asked."""
    total = found.total if found is not None else Money("100.00", "EUR")
    left = found.refundable if found is not None else total
    minor = {
        "total": total.minor_units,
        "half": total.minor_units // 2,
        "third": total.minor_units // 3,
        "twice the total": total.minor_units * 2,
        "what is left": left.minor_units,
        "one unit more than is left": left.minor_units + 1,
    }[amount]
    currency = total.currency
    if other_currency:
        currency = next(c for c in CURRENCIES if c != currency)
    # Twice a large total, or a total's minor units read in a currency of fewer decimals,
    # may pass R15's largest amount: asked for as the largest, still more than is left.
    largest = MAX_AMOUNT * 10 ** minor_unit_exponent(currency)
    return Money.from_minor_units(min(max(minor, 1), largest), currency)


def retried(last: Purchase, retry: str) -> Purchase:
    """The last keyed purchase sent again: ``"as it was"``, or with ``"another quantity"``
    or ``"another price"`` (R12 tells the first from the other two)."""
    if retry == "another quantity":
        return replace(last, quantity=last.quantity % 100_000 + 1)
    if retry == "another price":
        before = last.unit_price
        return replace(
            last, unit_price=Money.from_minor_units(before.minor_units + 1, before.currency)
        )
    return last
