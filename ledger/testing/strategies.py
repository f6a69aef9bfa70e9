"""Hypothesis strategies for the ledger's values and for whole command sequences.

Everything generated is valid input unless a strategy says otherwise, so a
failure means a rule, not a typo. Money respects the currency's minor unit.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from hypothesis import strategies as st

from ledger.countries import all_markets
from ledger.money import Money, minor_unit_exponents
from ledger.policies.markets import AZURE_RESERVATION_UNAVAILABLE
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
from ledger.values import Actor, Customer, Product, ProductKind, Role

__all__ = [
    "PARTNER_ROLES",
    "actors",
    "command_sequences",
    "currencies",
    "customers",
    "markets",
    "money",
    "products",
    "unit_prices",
]

#: Every role a partner user can hold (SUPPORT belongs to the vendor).
PARTNER_ROLES = tuple(role for role in Role if role is not Role.SUPPORT)
DAY = timedelta(days=1)


def markets(*, reservations_sold: bool | None = None) -> st.SearchStrategy[str]:
    """ISO 3166-1 alpha-2 codes plus XK; ``reservations_sold`` filters by R1."""
    codes = tuple(sorted(all_markets()))
    if reservations_sold is not None:
        codes = tuple(
            c for c in codes if (c not in AZURE_RESERVATION_UNAVAILABLE) is reservations_sold
        )
    return st.sampled_from(codes)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 codes that have a minor unit (so a price can be written in them)."""
    return st.sampled_from(sorted(minor_unit_exponents()))


def money(
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    min_minor_units: int = 0,
    max_minor_units: int = 10**12,
) -> st.SearchStrategy[Money]:
    """Exact amounts: whole minor units of the currency (cents, yen, fils)."""
    codes = currencies() if currency is None else currency
    if isinstance(codes, str):
        codes = st.just(codes)
    minor = st.integers(min_value=min_minor_units, max_value=max_minor_units)
    return _money(minor, codes)


# Values are built in ``st.composite`` functions: a failing example then shows
# the value itself (``Money('0.05', 'EUR')``). ``builds`` with a lambda shows
# ``(lambda code, minor: <unknown>)(...)``, and ``map`` with a named function
# shows the call (``_money((5, 'EUR'))``).


@st.composite
def _money(draw: st.DrawFn, minor: st.SearchStrategy[int], codes: st.SearchStrategy[str]) -> Money:
    return Money.from_minor_units(draw(minor), draw(codes))


def unit_prices(currency: str | st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Money]:
    """Prices above zero (R2), up to ten million major units."""
    return money(currency, min_minor_units=1, max_minor_units=10**9)


def customers(
    market: st.SearchStrategy[str] | None = None, *, names: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Customer]:
    """Customers in ``market`` (any R1 market); named by ``names`` (any letters, digits
    and spaces of any script, so names are fuzzed too) or, e.g., a few readable ones."""
    if names is None:
        letters = st.characters(categories=("L", "N", "Zs"))
        names = st.text(letters, min_size=1, max_size=40).filter(str.strip)
    return _customer(market if market is not None else markets(), names)


@st.composite
def _customer(
    draw: st.DrawFn, markets: st.SearchStrategy[str], names: st.SearchStrategy[str]
) -> Customer:
    tenant_id = draw(st.uuids(version=4))
    name = draw(names)
    return Customer(
        tenant_id=tenant_id,
        domain=f"t{tenant_id.hex[:12]}.example",
        name=name,
        market=draw(markets),
    )


def products(
    kinds: st.SearchStrategy[ProductKind] | None = None,
    *,
    term_days: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[Product]:
    """Products of every kind; subscriptions always have a term, reservations no downloads."""

    @st.composite
    def build(draw: st.DrawFn) -> Product:
        kind = draw(kinds if kinds is not None else st.sampled_from(ProductKind))
        term = draw(term_days if term_days is not None else st.integers(1, 1095))
        downloads = kind is not ProductKind.AZURE_RESERVATION
        return Product(
            product_id=f"PRD-{kind.value}-{draw(st.integers(1, 3))}",
            sku_id=draw(st.sampled_from(("0001", "0002"))),
            title=f"{kind.value.replace('_', ' ').title()} {draw(st.sampled_from('ABC'))}",
            kind=kind,
            term_days=term if kind is ProductKind.SUBSCRIPTION else None,
            versions=("2024", "2021") if downloads else (),
            languages=("en-US", "nl-NL") if downloads else (),
            bitness=(32, 64) if downloads else (),
        )

    return build()


def actors(
    partner_ids: st.SearchStrategy[str] | None = None,
    tenant_ids: st.SearchStrategy[UUID] | None = None,
) -> st.SearchStrategy[Actor]:
    """Partner users with any roles, customer users, and the vendor's support."""
    partners = partner_ids if partner_ids is not None else st.sampled_from(("P1", "P2"))
    tenants = tenant_ids if tenant_ids is not None else st.uuids(version=4)
    users = st.sampled_from(("ann", "bob", "carol", "dave"))
    partner_roles = st.frozensets(st.sampled_from(PARTNER_ROLES), min_size=1, max_size=3)
    customer_roles = st.one_of(
        st.just(frozenset({Role.GLOBAL_ADMIN})),
        st.frozensets(st.sampled_from(PARTNER_ROLES), min_size=1),
    )
    support = st.just(Actor(user="sam", roles={Role.SUPPORT}))
    return st.one_of(
        _partner_user(users, partner_roles, partners),
        _customer_user(users, customer_roles, tenants),
        support,
    )


@st.composite
def _partner_user(
    draw: st.DrawFn,
    users: st.SearchStrategy[str],
    roles: st.SearchStrategy[frozenset[Role]],
    partner_ids: st.SearchStrategy[str],
) -> Actor:
    return Actor(user=draw(users), roles=draw(roles), partner_id=draw(partner_ids))


@st.composite
def _customer_user(
    draw: st.DrawFn,
    users: st.SearchStrategy[str],
    roles: st.SearchStrategy[frozenset[Role]],
    tenant_ids: st.SearchStrategy[UUID],
) -> Actor:
    return Actor(user=draw(users), roles=draw(roles), tenant_id=draw(tenant_ids))


def _waits() -> st.SearchStrategy[Wait]:
    return st.one_of(
        st.integers(1, 6 * 3600).map(_seconds),
        st.integers(1, 40).map(_days),
        st.just(timedelta(microseconds=1)),
    ).map(Wait)


def _seconds(count: int) -> timedelta:
    return timedelta(seconds=count)


def _days(count: int) -> timedelta:
    return count * DAY


@st.composite
def command_sequences(
    draw: st.DrawFn,
    *,
    partner_ids: tuple[str, ...] = ("P1", "P2"),
    max_commands: int = 30,
) -> list[Command]:
    """A world of customers followed by commands that refer to earlier orders by alias.

    Actors are mostly the right ones (the partner's admin agent, the tenant's
    admin, support for resolutions) and sometimes any actor at all, so the
    sequence visits both the rules and the access checks.
    """
    world = draw(st.lists(customers(), min_size=1, max_size=3, unique_by=lambda c: c.tenant_id))
    owners = [draw(st.sampled_from(partner_ids)) for _ in world]
    commands: list[Command] = [
        AddCustomer(Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id=p), c)
        for p, c in zip(owners, world, strict=True)
    ]
    tenant_ids = [c.tenant_id for c in world]
    anyone = actors(st.sampled_from(partner_ids), st.sampled_from(tenant_ids))
    orders: list[tuple[str, str, str]] = []  # alias, partner, currency
    refunds: list[str] = []
    currency_of = st.sampled_from(("EUR", "JPY", "KWD"))

    def agent(partner_id: str) -> Actor:
        return Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id=partner_id)

    for index in range(draw(st.integers(1, max_commands))):
        choice = draw(
            st.sampled_from(
                ("purchase", "wait", "key", "link", "status", "cancel", "refund", "resolve")
            )
        )
        if choice == "purchase" or not orders:
            slot = draw(st.integers(0, len(world) - 1))
            alias = f"o{index}"
            unit_price = draw(unit_prices(currency_of))
            right = agent(owners[slot])
            actor = draw(st.one_of(st.just(right), st.just(right), anyone))
            commands.append(
                Purchase(
                    actor,
                    tenant_ids[slot],
                    draw(products()),
                    draw(st.integers(1, 20)),
                    unit_price,
                    alias,
                    idempotency_key=draw(st.sampled_from((None, None, "k1", "k2"))),
                )
            )
            orders.append((alias, owners[slot], unit_price.currency))
            continue
        alias, partner_id, currency = draw(st.sampled_from(orders))
        right = agent(partner_id)
        actor = draw(st.one_of(st.just(right), st.just(right), anyone))
        if choice == "wait":
            commands.append(draw(_waits()))
        elif choice == "key":
            commands.append(ViewKey(actor, alias))
        elif choice == "link":
            commands.append(Download(actor, alias, "2024", "en-US", 64, copy=draw(st.booleans())))
        elif choice == "status":
            commands.append(AskCancellationStatus(actor, alias))
        elif choice == "cancel":
            commands.append(Cancel(actor, alias))
        elif choice == "refund":
            refund = f"r{index}"
            amount = draw(money(currency, min_minor_units=1, max_minor_units=10**6))
            commands.append(RequestRefund(actor, alias, amount, refund))
            refunds.append(refund)
        elif refunds:
            support = Actor(user="sam", roles={Role.SUPPORT})
            who = draw(st.one_of(st.just(support), st.just(support), anyone))
            commands.append(ResolveRefund(who, draw(st.sampled_from(refunds)), draw(st.booleans())))
    return commands
