"""CASS agent code: 7-digit IATA cargo agent numeric code + 3-digit branch + 1 check digit.

The check digit is the first ten digits, read as one number, modulo 7 (verified on every public
sample, e.g. 2347006-851-0 and CNS 0119608-015-2).

>>> validate('2347006 851 0')
'23470068510'
>>> calc_check_digit('0119608015')
'2'
>>> is_valid('23470068511')
False
>>> format('23470068510')
'2347006-851-0'
"""

from __future__ import annotations

from casslink.identifiers import InvalidChecksum, clean, digits, is_valid_by


def compact(number: str) -> str:
    return clean(number)


def calc_check_digit(first10: str) -> str:
    return str(int(first10) % 7)


def validate(number: str) -> str:
    number = digits(number, 11)
    if calc_check_digit(number[:10]) != number[10]:
        raise InvalidChecksum()
    return number


def is_valid(number: str) -> bool:
    return is_valid_by(validate, number)


def numeric_code(number: str) -> str:
    """The 7-digit IATA cargo agent numeric code (ONE Record ``iataCargoAgentCode``)."""
    return compact(number)[:7]


def location_identifier(number: str) -> str:
    """The 4-digit CASS address: branch + check digit (``iataCargoAgentLocationIdentifier``)."""
    return compact(number)[7:]


def format(number: str) -> str:
    number = compact(number)
    return f"{number[:7]}-{number[7:10]}-{number[10]}"
