"""Airline identifiers: the 3-digit accounting prefix and the 2-character designator.

>>> validate_prefix('020')
'020'
>>> validate_designator('lh')
'LH'
>>> is_valid_designator('L')
False
"""

from __future__ import annotations

import re

from casslink.identifiers import InvalidFormat, InvalidLength, clean, digits, is_valid_by

_DESIGNATOR = re.compile(r"^[A-Z0-9]{2}$")


def validate_prefix(prefix: str) -> str:
    return digits(prefix, 3)


def validate_designator(code: str) -> str:
    code = clean(code).upper()
    if len(code) != 2:
        raise InvalidLength()
    if not _DESIGNATOR.match(code) or code.isdigit():
        raise InvalidFormat()
    return code


def is_valid_prefix(prefix: str) -> bool:
    return is_valid_by(validate_prefix, prefix)


def is_valid_designator(code: str) -> bool:
    return is_valid_by(validate_designator, code)
