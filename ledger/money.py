"""Money: a Decimal amount in an ISO 4217 currency, exact to the currency's minor unit (R2)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from typing import Any

from iso4217 import Currency
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ledger.errors import InvalidInput

__all__ = ["Money", "minor_unit_exponent", "minor_unit_exponents"]


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


def _to_decimal(amount: object) -> Decimal:
    # bool is an int subclass, and a float has already lost the cents: both are refused.
    if isinstance(amount, bool | float):
        raise InvalidInput("amount", f"must be str, int or Decimal, never {type(amount).__name__}")
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, str):
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            raise InvalidInput("amount", f"{amount!r} is not a decimal number") from None
    else:
        raise InvalidInput("amount", f"must be str, int or Decimal, got {type(amount).__name__}")
    if not value.is_finite():
        raise InvalidInput("amount", f"{amount!r} is not a finite number")
    return value


class Money:
    """An exact amount of one currency. Immutable; equal when amount and currency are."""

    __slots__ = ("_amount", "_currency")

    _amount: Decimal
    _currency: str

    def __init__(self, amount: str | int | Decimal, currency: str) -> None:
        exponent = minor_unit_exponent(currency)
        value = _to_decimal(amount)
        quantum = Decimal(1).scaleb(-exponent)
        quantized = value.quantize(quantum)
        if quantized != value:
            raise InvalidInput(
                "amount", f"{value} is finer than the minor unit of {currency} ({quantum})"
            )
        object.__setattr__(self, "_amount", quantized)
        object.__setattr__(self, "_currency", currency)

    @property
    def amount(self) -> Decimal:
        return self._amount

    @property
    def currency(self) -> str:
        return self._currency

    @property
    def minor_units(self) -> int:
        """The amount counted in the currency's smallest unit (cents for EUR)."""
        return int(self._amount.scaleb(minor_unit_exponent(self._currency)))

    @classmethod
    def from_minor_units(cls, minor_units: int, currency: str) -> Money:
        return cls(Decimal(minor_units).scaleb(-minor_unit_exponent(currency)), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def prorate(self, numerator: int, denominator: int) -> Money:
        """``self × numerator / denominator``, rounded half-even to the minor unit (R8).

        The arithmetic is exact (a Fraction of minor units), so the only rounding
        is the final one the rule asks for.
        """
        if denominator <= 0:
            raise InvalidInput("denominator", "must be positive")
        exact = Fraction(self.minor_units * numerator, denominator)
        return Money.from_minor_units(round(exact), self._currency)

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other._currency != self._currency:
            raise InvalidInput("currency", f"cannot mix {self._currency} and {other._currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self._amount + self._same_currency(other)._amount, self._currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self._amount - self._same_currency(other)._amount, self._currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int")
        return Money(self._amount * factor, self._currency)

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

    def __reduce__(self) -> tuple[type[Money], tuple[str, str]]:
        return (Money, (str(self._amount), self._currency))

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
