"""R1 (markets) and R2 (prices, tax, money), through the public API."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from ledger import Customer, Ledger, Money, ProductKind
from ledger.errors import InvalidInput, MarketUnavailable
from tests.support import AGENT, add_tenant, buy, customer

# R1, restated from SPEC.md so that a change to the implementation's list shows up here.
AZURE_RESERVATION_UNAVAILABLE = """
    AX AS AD AI AQ AG AW AZ BJ BT BQ BV IO VG BF BI KH CF TD CN CX CC KM CG CD CK DJ DM GQ ER
    FK GF PF TF GA GM GI GL GD GP GU GG GN GW GY HT HM IM SJ JE KI XK LA LS LR MG MW MV ML MH
    MQ MR YT FM MS MZ MM NR NC NE NU NF MP PW PG PN RE BL LC MF PM VC WS SM ST SC SL SX SB SO
    GS SS SH SR SZ TL TG TK TO TC TV UM VU VA WF YE
""".split()  # noqa: SIM905 - reads like the SPEC


# --------------------------------------------------------------------------- R1


def test_r1_the_spec_list_has_no_duplicates_and_every_code_is_a_valid_market() -> None:
    assert len(AZURE_RESERVATION_UNAVAILABLE) == len(set(AZURE_RESERVATION_UNAVAILABLE))
    for market in AZURE_RESERVATION_UNAVAILABLE:
        assert customer(market).market == market


def test_r1_azure_reservation_is_refused_in_every_listed_market(led: Ledger) -> None:
    for market in AZURE_RESERVATION_UNAVAILABLE:
        tid = add_tenant(led, market)
        with pytest.raises(MarketUnavailable):
            buy(led, tid, ProductKind.AZURE_RESERVATION)
        assert led.software(AGENT, tid) == [], market


@pytest.mark.parametrize("market", ["NL", "US", "AU", "BR", "JP", "DE", "GB"])
def test_r1_azure_reservation_sells_in_markets_not_listed(led: Ledger, market: str) -> None:
    tid = add_tenant(led, market)
    order_id = buy(led, tid, ProductKind.AZURE_RESERVATION)
    [item] = led.software(AGENT, tid)
    assert item.order_id == order_id
    assert item.status == "active"


@pytest.mark.parametrize(
    "kind",
    [ProductKind.PERPETUAL, ProductKind.SUBSCRIPTION, ProductKind.SOFTWARE_PLAN],
)
@pytest.mark.parametrize("market", ["CN", "XK", "YE", "AX"])
def test_r1_other_kinds_sell_in_the_listed_markets(
    led: Ledger, kind: ProductKind, market: str
) -> None:
    tid = add_tenant(led, market)
    order_id = buy(led, tid, kind)
    assert [i.order_id for i in led.software(AGENT, tid)] == [order_id]


def test_r1_xk_kosovo_is_a_valid_market_and_is_on_the_list(led: Ledger) -> None:
    c = customer("XK")
    assert c.market == "XK"
    led.add_customer(AGENT, c)
    with pytest.raises(MarketUnavailable):
        buy(led, c.tenant_id, ProductKind.AZURE_RESERVATION)
    buy(led, c.tenant_id, ProductKind.PERPETUAL)
    assert len(led.software(AGENT, c.tenant_id)) == 1


@pytest.mark.parametrize("market", ["ZZ", "XX", "nl", "Nl", "NLD", "N", "", "1A", " NL", "EU"])
def test_r1_unknown_or_malformed_market_is_invalid_input(market: str) -> None:
    with pytest.raises(InvalidInput) as info:
        customer(market)
    assert info.value.field == "market"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("market", [None, 31, b"NL"])
def test_r1_market_of_the_wrong_type_is_invalid_input(market: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Customer(
            tenant_id=UUID("6d009900-229a-4ed3-8000-000000000001"),
            domain="contoso.example",
            name="Contoso",
            market=market,  # type: ignore[arg-type]
        )
    assert info.value.field == "market"


# --------------------------------------------------------------------------- R2


@pytest.mark.parametrize(
    ("market", "inclusive"),
    [("AU", True), ("BR", True), ("NL", False), ("US", False), ("NZ", False), ("PT", False)],
)
def test_r2_prices_are_tax_inclusive_only_in_au_and_br(
    led: Ledger, market: str, inclusive: bool
) -> None:
    tid = add_tenant(led, market)
    buy(led, tid)
    [item] = led.software(AGENT, tid)
    assert item.tax_inclusive is inclusive


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10.005", "USD"),
        ("1.5", "JPY"),
        ("0.001", "EUR"),
        ("100.1", "JPY"),
        ("10.0001", "KWD"),
        (Decimal("10.005"), "USD"),
        (Decimal("1.5"), "JPY"),
    ],
)
def test_r2_money_constructor_refuses_amounts_finer_than_the_minor_unit(
    amount: str | Decimal, currency: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        Money(amount, currency)
    assert info.value.field == "amount"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.00", "USD", Decimal("10.00")),
        ("10.000", "USD", Decimal("10.00")),
        ("10", "USD", Decimal("10.00")),
        (10, "USD", Decimal("10.00")),
        (Decimal("10.5"), "EUR", Decimal("10.50")),
        ("1500", "JPY", Decimal("1500")),
        ("1.0", "JPY", Decimal("1")),
        ("10.001", "KWD", Decimal("10.001")),
    ],
)
def test_r2_money_accepts_str_int_decimal_down_to_the_minor_unit(
    amount: str | int | Decimal, currency: str, expected: Decimal
) -> None:
    m = Money(amount, currency)
    assert isinstance(m.amount, Decimal)
    assert m.amount == expected
    assert m.currency == currency


@pytest.mark.parametrize("amount", [10.5, 1.0, 0.1, float("nan"), True])
def test_r2_money_refuses_floats_and_bools(amount: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Money(amount, "EUR")  # type: ignore[arg-type]
    assert info.value.field == "amount"


@pytest.mark.parametrize("currency", ["EURO", "eur", "ABC", "", "XAU", None, 978])
def test_r2_money_refuses_unknown_currencies(currency: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Money("1.00", currency)  # type: ignore[arg-type]
    assert info.value.field == "currency"


def test_r2_money_is_equal_when_amount_and_currency_are_equal() -> None:
    assert Money("5", "EUR") == Money("5.00", "EUR") == Money(Decimal("5.0"), "EUR")
    assert Money(5, "EUR") == Money("5.00", "EUR")
    assert Money("5.00", "EUR") != Money("5.00", "USD")
    assert Money("5.00", "EUR") != Money("5.01", "EUR")


@pytest.mark.parametrize(
    ("market", "price"),
    [
        ("NL", Money("100.00", "USD")),
        ("US", Money("100.00", "EUR")),
        ("JP", Money("100.00", "GBP")),
        ("AU", Money("1500", "JPY")),
        ("BR", Money("12.345", "KWD")),
    ],
)
def test_r2_order_currency_is_the_unit_price_currency_in_any_market(
    led: Ledger, market: str, price: Money
) -> None:
    tid = add_tenant(led, market)
    buy(led, tid, unit_price=price, quantity=2)
    [item] = led.software(AGENT, tid)
    assert item.total.currency == price.currency
    assert item.total == price * 2


@pytest.mark.parametrize(
    "price",
    [Money("0", "EUR"), Money("0.00", "EUR"), Money("-0.01", "EUR"), Money("-100", "JPY")],
)
def test_r2_unit_price_zero_or_negative_is_invalid_input(led: Ledger, price: Money) -> None:
    tid = add_tenant(led)
    with pytest.raises(InvalidInput) as info:
        buy(led, tid, unit_price=price)
    assert info.value.field == "unit_price"
    assert led.software(AGENT, tid) == []


@pytest.mark.parametrize(
    ("unit", "quantity", "total"),
    [
        (Money("100.00", "EUR"), 2, Money("200.00", "EUR")),
        (Money("19.99", "EUR"), 3, Money("59.97", "EUR")),
        (Money("0.01", "EUR"), 100000, Money("1000.00", "EUR")),
        (Money("1500", "JPY"), 7, Money("10500", "JPY")),
        (Money("0.333", "KWD"), 3, Money("0.999", "KWD")),
        (Money("99999.99", "USD"), 100000, Money("9999999000.00", "USD")),
    ],
)
def test_r2_total_is_unit_price_times_quantity(
    led: Ledger, unit: Money, quantity: int, total: Money
) -> None:
    tid = add_tenant(led)
    buy(led, tid, unit_price=unit, quantity=quantity)
    [item] = led.software(AGENT, tid)
    assert item.quantity == quantity
    assert item.total == total
    assert isinstance(item.total.amount, Decimal)
