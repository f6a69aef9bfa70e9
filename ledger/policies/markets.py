"""Where what may be sold (R1), and where prices include tax (R2)."""

from __future__ import annotations

from ledger.countries import validate_market
from ledger.errors import MarketUnavailable
from ledger.values import ProductKind

__all__ = [
    "AZURE_RESERVATION_UNAVAILABLE",
    "TAX_INCLUSIVE_MARKETS",
    "check_can_sell",
    "is_tax_inclusive",
    "validate_market",
]


# Copied verbatim from SPEC R1, so that the two can be compared side by side.
AZURE_RESERVATION_UNAVAILABLE: frozenset[str] = frozenset(
    """
    AX AS AD AI AQ AG AW AZ BJ BT BQ BV IO VG BF BI KH CF TD CN CX CC KM CG CD CK DJ DM GQ ER
    FK GF PF TF GA GM GI GL GD GP GU GG GN GW GY HT HM IM SJ JE KI XK LA LS LR MG MW MV ML MH
    MQ MR YT FM MS MZ MM NR NC NE NU NF MP PW PG PN RE BL LC MF PM VC WS SM ST SC SL SX SB SO
    GS SS SH SR SZ TL TG TK TO TC TV UM VU VA WF YE
    """.split()  # noqa: SIM905 - a block of codes reads like the SPEC; a list literal does not
)

TAX_INCLUSIVE_MARKETS: frozenset[str] = frozenset({"AU", "BR"})

_UNAVAILABLE_BY_KIND: dict[ProductKind, frozenset[str]] = {
    ProductKind.AZURE_RESERVATION: AZURE_RESERVATION_UNAVAILABLE,
}


def check_can_sell(kind: ProductKind, market: str) -> None:
    if market in _UNAVAILABLE_BY_KIND.get(kind, frozenset()):
        raise MarketUnavailable(f"{kind.value} cannot be bought for customers in market {market}")


def is_tax_inclusive(market: str) -> bool:
    return market in TAX_INCLUSIVE_MARKETS
