"""Which markets exist: ISO 3166-1 alpha-2 (from pycountry) plus Kosovo's XK."""

from __future__ import annotations

from functools import lru_cache

import pycountry

from ledger._validate import shown
from ledger.errors import InvalidInput

# Kosovo has no ISO 3166-1 code; Microsoft and the EU use the user-assigned XK.
_EXTRA_MARKETS = frozenset({"XK"})


@lru_cache(maxsize=1)
def all_markets() -> frozenset[str]:
    """Every market code the ledger accepts."""
    return frozenset(c.alpha_2 for c in pycountry.countries) | _EXTRA_MARKETS


def validate_market(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(
            field, f"must be a str ISO 3166-1 alpha-2 code, got {type(value).__name__}"
        )
    if value not in all_markets():
        raise InvalidInput(field, f"{shown(value)} is not an ISO 3166-1 alpha-2 market")
    return value
