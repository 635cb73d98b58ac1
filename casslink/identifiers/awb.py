"""Air waybill number: 3-digit airline prefix + 8-digit serial, the last digit a mod-7 check.

IATA Resolution 600a: the 8th digit of the serial is the remainder of the first seven digits
divided by 7. CASS records carry the 8-digit serial *including* the check digit.

>>> validate('160-62144154')
'16062144154'
>>> calc_check_digit('6214415')
'4'
>>> validate('160-62144155')
Traceback (most recent call last):
    ...
casslink.identifiers.InvalidChecksum: The check digit is wrong
>>> format('08170639310')
'081-70639310'
"""

from __future__ import annotations

from casslink.identifiers import InvalidChecksum, clean, digits, is_valid_by


def compact(number: str) -> str:
    return clean(number)


def calc_check_digit(serial7: str) -> str:
    """The check digit of a 7-digit serial body."""
    return str(int(serial7) % 7)


def validate_serial(serial: str) -> str:
    """Validate the 8-digit serial (with check digit) alone."""
    serial = digits(serial, 8)
    if calc_check_digit(serial[:7]) != serial[7]:
        raise InvalidChecksum()
    return serial


def validate(number: str) -> str:
    """Validate an 11-digit AWB number (prefix + serial); return it compact."""
    number = digits(number, 11)
    validate_serial(number[3:])
    return number


def is_valid(number: str) -> bool:
    return is_valid_by(validate, number)


def format(number: str) -> str:
    number = compact(number)
    return f"{number[:3]}-{number[3:]}"
