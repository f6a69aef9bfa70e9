"""Money: a Decimal amount in an ISO 4217 currency, exact to the currency's minor unit (R2)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DecimalException,
    Inexact,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from functools import cache
from typing import Any

from iso4217 import Currency
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ledger._validate import shown
from ledger.errors import InvalidInput

__all__ = [
    "MAX_AMOUNT",
    "Money",
    "minor_unit_exponent",
    "minor_unit_exponents",
    "stored_minor_units",
    "stored_money",
]


@cache
def minor_unit_exponents() -> dict[str, int]:
    """Every currency Money accepts, with its minor-unit digits."""
    # Funds and metals (XAU, XDR, ...) have no minor unit, so nothing can be priced in them.
    return {c.code: c.exponent for c in Currency if c.exponent is not None}


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (2 for EUR, 0 for JPY, 3 for KWD)."""
    if not isinstance(currency, str):
        raise InvalidInput(
            "currency", f"must be a str ISO 4217 code, got {type(currency).__name__}"
        )
    try:
        return minor_unit_exponents()[currency]
    except KeyError:
        raise InvalidInput("currency", f"{currency!r} is not an ISO 4217 currency") from None


#: R15: the largest amount (unit price, order total, credit, refund) in major units.
MAX_AMOUNT = 10**12
#: Longest decimal text accepted for an amount ("1000000000000.000" is 17).
MAX_AMOUNT_TEXT = 64
# Every amount is at most 10^12 with at most 3 decimals (16 digits); sums the ledger
# computes stay far below 40. A private context, so that a caller's decimal settings
# (a lower precision, other traps) never change a result; Inexact is trapped so that
# an amount is never silently rounded.
_EXACT = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Inexact, Overflow])
# Quantizing an input may round: the constructor compares and refuses, rather than trap.
_ROUNDING = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow])


def _to_decimal(amount: object) -> Decimal:
    # bool is an int subclass, and a float has already lost the cents: both are refused.
    if isinstance(amount, bool | float):
        raise InvalidInput("amount", f"must be str, int or Decimal, never {type(amount).__name__}")
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int):
        # Checked before Decimal(): a 5,000-digit int is refused without being converted.
        if abs(amount) > MAX_AMOUNT:
            raise InvalidInput("amount", f"{shown(amount)} is above {MAX_AMOUNT:,}")
        value = Decimal(amount)
    elif isinstance(amount, str):
        if len(amount) > MAX_AMOUNT_TEXT:
            raise InvalidInput("amount", f"is longer than {MAX_AMOUNT_TEXT} characters")
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            raise InvalidInput("amount", f"{shown(amount)} is not a decimal number") from None
    else:
        raise InvalidInput("amount", f"must be str, int or Decimal, got {type(amount).__name__}")
    if not value.is_finite():
        raise InvalidInput("amount", f"{shown(amount)} is not a finite number")
    # abs() rounds to the context's precision: an exponent beyond it overflows, so the
    # exponent is looked at first.
    if value.adjusted() > 12 or abs(value) > MAX_AMOUNT:
        raise InvalidInput("amount", f"{shown(amount)} is above {MAX_AMOUNT:,}")
    return value


@cache
def _quanta() -> dict[str, Decimal]:
    """Each accepted currency's minor unit as a Decimal (0.01 for EUR): built once."""
    return {code: Decimal(1).scaleb(-exponent) for code, exponent in minor_unit_exponents().items()}


def _quantum(currency: str) -> Decimal:
    quantum = _quanta().get(currency) if isinstance(currency, str) else None
    if quantum is not None:
        return quantum
    # Not a currency Money accepts: minor_unit_exponent raises the InvalidInput for it.
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


#: `Money.zero` of each currency asked for (every key a valid currency code).
_ZEROS: dict[str, Money] = {}


class Money:
    """An exact amount of one currency. Immutable; equal when amount and currency are.

    The constructor refuses floats, non-finite numbers, amounts finer than the
    currency's minor unit and amounts above `MAX_AMOUNT` (10^12 major units).
    Sums the ledger computes from valid amounts (a month's credit totals) are
    exact and may exceed it.
    """

    __slots__ = ("_amount", "_currency")

    _amount: Decimal
    _currency: str

    def __init__(self, amount: str | int | Decimal, currency: str) -> None:
        quantum = _quantum(currency)
        value = _to_decimal(amount)
        quantized = value.quantize(quantum, context=_ROUNDING)
        if quantized != value:
            raise InvalidInput(
                "amount",
                f"{shown(value)} is finer than the minor unit of {currency} ({quantum})",
            )
        object.__setattr__(self, "_amount", quantized)
        object.__setattr__(self, "_currency", currency)

    @classmethod
    def _exact(cls, amount: Decimal, currency: str) -> Money:
        """An amount that is already exact: read back from the store, or a sum."""
        money = object.__new__(cls)
        object.__setattr__(money, "_amount", amount.quantize(_quantum(currency), context=_ROUNDING))
        object.__setattr__(money, "_currency", currency)
        return money

    @property
    def amount(self) -> Decimal:
        return self._amount

    @property
    def currency(self) -> str:
        return self._currency

    @property
    def minor_units(self) -> int:
        """The amount counted in the currency's smallest unit (cents for EUR)."""
        return int(self._amount.scaleb(minor_unit_exponent(self._currency), context=_EXACT))

    @classmethod
    def from_minor_units(cls, minor_units: int, currency: str) -> Money:
        if isinstance(minor_units, bool) or not isinstance(minor_units, int):
            raise InvalidInput("minor_units", f"must be an int, got {type(minor_units).__name__}")
        if abs(minor_units) > MAX_AMOUNT * 10 ** minor_unit_exponent(currency):
            raise InvalidInput("minor_units", f"{shown(minor_units)} is above the largest amount")
        return cls(Decimal(minor_units).scaleb(-minor_unit_exponent(currency)), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        if cls is not Money or type(currency) is not str:
            return cls(0, currency)
        # Money is immutable, so one zero per currency serves every caller.
        zero = _ZEROS.get(currency)
        if zero is None:
            zero = _ZEROS[currency] = cls(0, currency)  # InvalidInput for a non-currency
        return zero

    def prorate(self, numerator: int, denominator: int) -> Money:
        """``self × numerator / denominator``, rounded half-even to the minor unit (R8).

        The arithmetic is exact (a Fraction of minor units), so the only rounding
        is the final one the rule asks for.
        """
        if denominator <= 0:
            raise InvalidInput("denominator", "must be positive")
        exact = Fraction(self.minor_units * numerator, denominator)
        return stored_minor_units(round(exact), self._currency)

    def _same_currency(self, other: Money) -> Money:
        if other._currency != self._currency:
            raise InvalidInput("currency", f"cannot mix {self._currency} and {other._currency}")
        return other

    def _combined(self, amount: Callable[[], Decimal]) -> Money:
        try:
            return Money._exact(amount(), self._currency)
        except DecimalException:
            raise InvalidInput("amount", "the result is out of range") from None

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return self._combined(lambda: _EXACT.add(self._amount, self._same_currency(other)._amount))

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return self._combined(
            lambda: _EXACT.subtract(self._amount, self._same_currency(other)._amount)
        )

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return self._combined(lambda: _EXACT.multiply(self._amount, Decimal(factor)))

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self._amount < self._same_currency(other)._amount

    def __le__(self, other: Money) -> bool:
        return self._amount <= self._same_currency(other)._amount

    def __gt__(self, other: Money) -> bool:
        return self._amount > self._same_currency(other)._amount

    def __ge__(self, other: Money) -> bool:
        return self._amount >= self._same_currency(other)._amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._amount == other._amount and self._currency == other._currency

    def __hash__(self) -> int:
        return hash((self._amount, self._currency))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __repr__(self) -> str:
        return f"Money('{self._amount}', '{self._currency}')"

    def __str__(self) -> str:
        return f"{self._amount} {self._currency}"

    def __reduce__(self) -> tuple[Callable[[str, str], Money], tuple[str, str]]:
        return (stored_money, (str(self._amount), self._currency))

    def to_dict(self) -> dict[str, str]:
        return {"amount": str(self._amount), "currency": self._currency}

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Events store Money as {"amount": "12.34", "currency": "EUR"}: a string
        # amount so that JSON never turns cents into a binary float.
        def validate(value: object) -> Money:
            if isinstance(value, Money):
                return value
            if isinstance(value, dict) and set(value) == {"amount", "currency"}:
                return Money(value["amount"], value["currency"])
            raise ValueError("expected Money or {'amount', 'currency'}")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda m: m.to_dict(), when_used="always"
            ),
        )


def stored_money(amount: Decimal | str, currency: str) -> Money:
    """Money read back from an event or a view: exact already, so not range-checked.

    What a store holds was accepted once; refusing it on the way out (say, an
    order total written before amounts were bounded) would make it unreadable.
    """
    return Money._exact(Decimal(amount), currency)


def stored_minor_units(minor_units: int, currency: str) -> Money:
    """`stored_money` from a count of minor units (the views store cents)."""
    # scaleb puts the amount at the currency's exponent exactly: no quantize needed.
    money = object.__new__(Money)
    object.__setattr__(
        money,
        "_amount",
        Decimal(minor_units).scaleb(-minor_unit_exponent(currency), context=_EXACT),
    )
    object.__setattr__(money, "_currency", currency)
    return money
