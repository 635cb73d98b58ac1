"""Money: minor units from ISO 4217, exact conversions, half-up FX rounding."""

from decimal import Decimal

import pytest

from casslink import money
from casslink.identifiers import InvalidComponent, InvalidFormat


def test_minor_units_from_iso_list():
    assert (money.minor_unit("EUR"), money.minor_unit("INR"), money.minor_unit("USD")) == (2, 2, 2)
    assert money.minor_unit("JPY") == 0
    assert money.minor_unit("KWD") == 3
    with pytest.raises(InvalidComponent):
        money.minor_unit("XYZ")


def test_to_minor_and_back():
    assert money.to_minor("3950.80", "EUR") == 395080
    assert money.to_minor("1200", "JPY") == 1200
    assert money.to_decimal(-21551, "EUR") == Decimal("-215.51")
    assert money.format_amount(5, "KWD") == "0.005"
    with pytest.raises(InvalidFormat):
        money.to_minor("1.005", "EUR")


def test_convert_rounds_half_up_per_amount():
    # 0.05 USD at 0.5 EUR/USD = 0.025 EUR -> 0.03 (half up)
    assert money.convert(5, "USD", "EUR", 50000) == 3
    # 1234.56 USD at 83.31250 = 102468.48 + 385.80 = 102854.28 INR exactly
    assert money.convert(123456, "USD", "INR", 8331250) == 10285428
    # 1000.01 USD at 0.92345 = 923.45 + 0.0092345 = 923.4592345 -> 923.46 EUR
    assert money.convert(100001, "USD", "EUR", 92345) == 92346
    assert money.convert(123456, "EUR", "EUR", 0) == 123456
