"""Money: int64 minor units + ISO 4217 code; ``Decimal`` only at the edges (text in, text out).

Currency data (code, minor unit) comes from the ``iso4217`` package, which ships ISO's own list.

>>> minor_unit('EUR'), minor_unit('JPY'), minor_unit('BHD')
(2, 0, 3)
>>> to_minor('3950.80', 'EUR')
395080
>>> to_decimal(395080, 'EUR')
Decimal('3950.80')
>>> format_amount(-21551, 'EUR')
'-215.51'
>>> convert(100000, 'USD', 'EUR', rate_e5=92345)   # 1000.00 USD at 0.92345 -> 923.45 EUR
92345
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from iso4217 import Currency

from casslink.identifiers import InvalidComponent, InvalidFormat

RATE_SCALE = 100_000
"""Rates of exchange are carried as int64 with five implied decimals (``nnnnn.nnnnn``)."""


@cache
def minor_unit(code: str) -> int:
    """Number of decimals of an ISO 4217 currency; raises InvalidComponent for unknown codes."""
    try:
        exponent = Currency(str(code).upper()).exponent
    except (ValueError, KeyError) as exc:
        raise InvalidComponent(f"unknown ISO 4217 currency {code!r}") from exc
    return int(exponent or 0)


def is_currency(code: str) -> bool:
    try:
        minor_unit(code)
    except InvalidComponent:
        return False
    return len(code) == 3 and code.isupper()


def to_minor(amount: str | Decimal | int, code: str) -> int:
    """Decimal text (or Decimal) to minor units; refuses more decimals than the currency has."""
    value = Decimal(str(amount))
    scaled = value.scaleb(minor_unit(code))
    if scaled != scaled.to_integral_value():
        raise InvalidFormat(f"{amount} has more decimals than {code} allows")
    return int(scaled)


def to_decimal(minor: int, code: str) -> Decimal:
    digits = minor_unit(code)
    return Decimal(int(minor)).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_amount(minor: int, code: str) -> str:
    """Plain lexical form with the currency's decimals (``-215.51``, ``1200``)."""
    return str(to_decimal(minor, code))


def format_amounts(minor: np.ndarray, digits: int, mask: np.ndarray | None = None) -> pa.Array:
    """:func:`format_amount` for a whole column (Arrow kernels, no Python loop): int64 minor
    units with ``digits`` decimals -> exact lexical forms; null where ``mask``."""
    minor = np.asarray(minor, np.int64)
    if digits == 0:
        return pa.array(minor, mask=mask).cast(pa.string())
    whole, frac = np.divmod(np.abs(minor), 10 ** digits)
    text = pc.binary_join_element_wise(
        pc.if_else(pa.array(minor < 0), "-", ""), pa.array(whole).cast(pa.string()), ".",
        pc.utf8_lpad(pa.array(frac).cast(pa.string()), digits, "0"), "")
    return text if mask is None else pc.if_else(pa.array(mask), pa.scalar(None, pa.string()),
                                                text)


def rate_to_decimal(rate_e5: int) -> Decimal:
    return Decimal(int(rate_e5)).scaleb(-5)


def convert(minor: int, from_code: str, to_code: str, rate_e5: int) -> int:
    """Convert minor units with a rate (units of ``to`` per unit of ``from``), rounded half-up."""
    if from_code == to_code:
        return int(minor)
    value = to_decimal(minor, from_code) * rate_to_decimal(rate_e5)
    exponent = Decimal(1).scaleb(-minor_unit(to_code))
    return int(value.quantize(exponent, rounding=ROUND_HALF_UP).scaleb(minor_unit(to_code)))
