"""Where what may be sold (R1), and where prices include tax (R2)."""

from __future__ import annotations

from functools import lru_cache

import pycountry

from ledger.errors import InvalidInput, MarketUnavailable
from ledger.values import ProductKind

__all__ = [
    "AZURE_RESERVATION_UNAVAILABLE",
    "TAX_INCLUSIVE_MARKETS",
    "check_can_sell",
    "is_tax_inclusive",
    "validate_market",
]

# Kosovo has no ISO 3166-1 code; Microsoft and the EU use the user-assigned XK.
_EXTRA_MARKETS = frozenset({"XK"})

AZURE_RESERVATION_UNAVAILABLE: frozenset[str] = frozenset(
    """
    AX AS AD AI AQ AG AW AZ BJ BT BQ BV IO VG BF BI KH CF TD CN CX CC KM CG CD CK DJ DM GQ ER
    FK GF PF TF GA GM GI GL GD GP GU GG GN GW GY HT HM IM SJ JE KI XK LA LS LR MG MW MV ML MH
    MQ MR YT FM MS MZ MM NR NC NE NU NF MP PW PG PN RE BL LC MF PM VC WS SM ST SC SL SX SB SO
    GS SS SH SR SZ TL TG TK TO TC TV UM VU VA WF YE
    """.split()
)

TAX_INCLUSIVE_MARKETS: frozenset[str] = frozenset({"AU", "BR"})

_UNAVAILABLE_BY_KIND: dict[ProductKind, frozenset[str]] = {
    ProductKind.AZURE_RESERVATION: AZURE_RESERVATION_UNAVAILABLE,
}


@lru_cache(maxsize=1)
def _markets() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | _EXTRA_MARKETS


def validate_market(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a str ISO 3166-1 alpha-2 code, got {type(value).__name__}")
    if value not in _markets():
        raise InvalidInput(field, f"{value!r} is not an ISO 3166-1 alpha-2 market")
    return value


def check_can_sell(kind: ProductKind, market: str) -> None:
    if market in _UNAVAILABLE_BY_KIND.get(kind, frozenset()):
        raise MarketUnavailable(f"{kind.value} cannot be bought for customers in market {market}")


def is_tax_inclusive(market: str) -> bool:
    return market in TAX_INCLUSIVE_MARKETS
