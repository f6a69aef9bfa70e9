"""Hypothesis strategies of *bad* arguments (R15), one per kind of parameter.

Each strategy draws only values the ledger must refuse for that parameter,
so that a call with at least one of them in place of a good argument must
raise a `LedgerError` and write nothing. Shared by the fuzz suite
(`tests/test_r15_fuzz.py`).
"""

from __future__ import annotations

import io
import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ledger import Actor, Money, Product, ProductKind, Role

# -- building blocks -----------------------------------------------------------------------

#: Values of the wrong type for almost any parameter (no str, no None: those vary by use).
ODD_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers().map(lambda n: n * 10**5000),  # too many digits for str()
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
    st.just(math.inf),
    st.builds(set),
    st.just(io.BytesIO()),
)

CONTROL = st.characters(codec=None, categories=["Cc"])
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
TEXT = st.text(max_size=12)


def _with(char: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, c, b: a + c + b, TEXT, char, TEXT)


#: Text a required text field refuses (and None is not text either).
BAD_TEXT: st.SearchStrategy[Any] = st.one_of(
    st.just(""),
    st.sampled_from(["   ", "\u3000", " \u00a0 "]),  # blank
    st.text(min_size=257, max_size=300),
    _with(CONTROL),
    _with(SURROGATE),
    st.just("\ud800"),
    st.none(),
    ODD_VALUES,
)
#: An optional text field: None is fine there, everything else above is not.
BAD_OPTIONAL_TEXT = BAD_TEXT.filter(lambda v: v is not None)


def _not_a_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return True
    return False


BAD_UUID: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=40).filter(_not_a_uuid),
    st.just("00000000-0000-0000-0000-00000000000g"),
    _with(SURROGATE),
    st.none(),
    ODD_VALUES.filter(lambda v: not isinstance(v, uuid.UUID)),
    st.uuids().map(lambda u: u.bytes),
    st.uuids().map(lambda u: u.int),
)
BAD_OPTIONAL_UUID = BAD_UUID.filter(lambda v: v is not None)


def bad_int(low: int, high: int | None) -> st.SearchStrategy[Any]:
    outside = st.integers(max_value=low - 1)
    if high is not None:
        outside = outside | st.integers(min_value=high + 1)
    return st.one_of(
        outside,
        st.booleans(),
        st.floats(allow_nan=True),
        st.decimals(allow_nan=True),
        st.text(st.characters(categories=["Nd"]), min_size=1, max_size=4),
        st.none(),
        st.just(object()),
    )


NAIVE = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
BAD_INSTANT: st.SearchStrategy[Any] = st.one_of(
    NAIVE,
    st.just(datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))),
    st.just(datetime.min.replace(tzinfo=timezone(timedelta(hours=5)))),
    st.dates(),  # a date is not a datetime
    st.text(max_size=30),
    st.none(),
    ODD_VALUES,
)
BAD_DAY: st.SearchStrategy[Any] = st.one_of(
    NAIVE,
    st.just(datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))),
    st.text(max_size=12),
    st.none(),
    ODD_VALUES,
)
BAD_MONTH: st.SearchStrategy[Any] = st.one_of(
    BAD_TEXT,
    st.sampled_from(
        ["2026-13", "2026-00", "26-11", "2026-1", "2026/11", "２０２６-11", "2026-11 "]
    ),
    st.dates(),
    st.datetimes(),
)

NOT_MONEY: st.SearchStrategy[Any] = st.one_of(
    st.decimals(allow_nan=False, places=2, min_value=1, max_value=10**6),
    st.floats(min_value=0.01, max_value=10**6),
    st.sampled_from(["10.00", "10.00 EUR", "EUR 10"]),
    st.fixed_dictionaries({"amount": st.just("10.00"), "currency": st.just("EUR")}),
    st.none(),
    ODD_VALUES,
)
NOT_POSITIVE_MONEY = st.sampled_from(
    [Money("0", "EUR"), Money("-0.01", "EUR"), Money("-1000000000000", "EUR"), Money(0, "JPY")]
)
BAD_POSITIVE_MONEY = st.one_of(NOT_MONEY, NOT_POSITIVE_MONEY)

NOT_ACTOR: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.text(max_size=10),
    st.fixed_dictionaries({"user": st.just("ann"), "roles": st.just({Role.ADMIN_AGENT})}),
    st.just(Role.ADMIN_AGENT),
    ODD_VALUES,
)
NOT_PRODUCT: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.text(max_size=10), st.just(ProductKind.PERPETUAL), ODD_VALUES
)
NOT_CUSTOMER: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.text(max_size=10), st.uuids(), ODD_VALUES
)
NOT_BOOL: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.integers(),
    st.sampled_from(["True", "yes", "false"]),
    st.floats(),
    st.just(object()),
)
BAD_TUPLE_OF_TEXT: st.SearchStrategy[Any] = st.one_of(
    st.text(min_size=1, max_size=10),  # a str is not a tuple of names
    st.lists(BAD_TEXT, min_size=1, max_size=3),
    st.lists(st.just("a.pdf"), min_size=101, max_size=110),
    st.integers(),
    st.just(object()),
    st.none(),
)
BAD_EMAIL = st.one_of(
    BAD_TEXT, st.sampled_from(["no-at-sign", "two@@signs", "a b@c.d", "@x", "x@"])
)
BAD_PHONE = st.one_of(BAD_TEXT, st.sampled_from(["phone", "+", "12", "++3120", "0x1234567"]))
BAD_ACTIVATION = st.one_of(BAD_TEXT, st.sampled_from(["mak", "Retail", "OEM", "KMS "]))
BAD_FORMAT: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["JSONL", "json", "xml", "", "csv "]), st.none(), ODD_VALUES
)
BAD_TARGET: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["", "   ", "/", ".", "/nonexistent-dir-ledger/x.jsonl", "a\x00b"]),
    st.just(io.BytesIO()),
    st.none(),
    st.integers(),
    st.floats(),
    st.just(object()),
)
BAD_DIGEST: st.SearchStrategy[Any] = st.one_of(
    BAD_OPTIONAL_TEXT,  # verify(None) checks against the chain in the database
    st.sampled_from(["12", "x:" + "a" * 64, "²:" + "a" * 64, "1:" + "g" * 64, "1:" + "A" * 63]),
    st.integers(),
    st.just(object()),
)
BAD_CURRENCY: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["eur", "EURO", "XAU", "XXX", "", "€", "E U"]), _with(SURROGATE), ODD_VALUES
)
BAD_AMOUNT: st.SearchStrategy[Any] = st.one_of(
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "1e25",
            "10.005",
            "NaN",
            "-Infinity",
            "sNaN",
            "1,00",
            "",
            "ten",
            "1" * 70,
            "1000000000000.01",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_finite()),
    st.integers(min_value=10**12 + 1),
    st.integers(max_value=-(10**12) - 1),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.009"), places=3),  # finer than EUR
    st.booleans(),
    st.none(),
    st.binary(max_size=4),
)
BAD_ROLES: st.SearchStrategy[Any] = st.one_of(
    st.text(min_size=1, max_size=10),
    st.sets(st.sampled_from(["ADMIN", "admin_agent", "ROOT"]), min_size=1),
    st.lists(st.integers(), min_size=1, max_size=3),
    st.integers(),
    st.none(),
    st.just(object()),
)
BAD_KIND: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["perpetual", "LEASE", ""]), st.none(), st.integers(), st.just(object())
)
BAD_MARKET: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["nl", "NLD", "UK", "EU", "", "XX", "N L"]), _with(SURROGATE), ODD_VALUES
)
BAD_WINDOWS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.just({ProductKind.PERPETUAL: timedelta(0)}),
    st.just({ProductKind.PERPETUAL: timedelta(days=-1)}),
    st.just({ProductKind.PERPETUAL: timedelta(days=36_526)}),
    st.just({ProductKind.PERPETUAL: timedelta.max}),
    st.just({"PERPETUAL": timedelta(days=30)}),
    st.just({ProductKind.PERPETUAL: 30}),
    st.lists(st.integers(), max_size=2),
    st.text(max_size=5),
    st.integers(),
)

#: Actors whose fields are fine but who act as nobody in particular: good for value checks.
SUPPORT = Actor(user="sam", roles={Role.SUPPORT})


def a_product(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "product_id": "PRD-1",
        "sku_id": "0001",
        "title": "Office",
        "kind": ProductKind.PERPETUAL,
        "term_days": None,
        "versions": ("2024",),
        "languages": ("en-US",),
        "bitness": (64,),
    }
    fields.update(changes)
    return Product(**fields)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


#: A date range the activity log refuses as a whole: end before start.
REVERSED_DAYS = (date(2026, 11, 30), date(2026, 11, 1))
