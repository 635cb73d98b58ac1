"""Billing period ids: ``YYYY-MM`` for a monthly period, ``YYYY-MM-N`` for the N-th shorter period
of a month (fortnightly or semi-monthly operations).

>>> validate('2026-11')
'2026-11'
>>> validate('2026-02-2')
'2026-02-2'
>>> is_valid('2026-13')
False
>>> parse('2026-02-2')
(2026, 2, 2)
"""

from __future__ import annotations

import re

from casslink.identifiers import InvalidComponent, InvalidFormat, is_valid_by

_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-([1-9]))?$")


def parse(period_id: str) -> tuple[int, int, int | None]:
    """``(year, month, n)``; ``n`` is None for a monthly period."""
    match = _PERIOD.match(str(period_id).strip())
    if not match:
        raise InvalidFormat(f"period id {period_id!r} is not YYYY-MM or YYYY-MM-N")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise InvalidComponent(f"month {month} out of range")
    return year, month, int(match[3]) if match[3] else None


def validate(period_id: str) -> str:
    parse(period_id)
    return str(period_id).strip()


def is_valid(period_id: str) -> bool:
    return is_valid_by(validate, period_id)


def make(year: int, month: int, n: int | None = None) -> str:
    return f"{year:04d}-{month:02d}" if n is None else f"{year:04d}-{month:02d}-{n}"
