"""IATA 3-letter location (airport/city) codes: well-formedness only (no registry is shipped).

>>> validate('fra')
'FRA'
>>> is_valid('FR1')
False
"""

from __future__ import annotations

from casslink.identifiers import InvalidFormat, InvalidLength, clean, is_valid_by


def validate(code: str) -> str:
    code = clean(code).upper()
    if len(code) != 3:
        raise InvalidLength()
    if not (code.isascii() and code.isalpha()):
        raise InvalidFormat()
    return code


def is_valid(code: str) -> bool:
    return is_valid_by(validate, code)
