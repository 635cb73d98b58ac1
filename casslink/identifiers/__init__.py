"""Identifier standards, one module each, in the manner of python-stdnum.

Every module exposes ``compact()``, ``validate()`` (returns the compact form or raises one of the
exceptions below), ``is_valid()`` and, where a check digit exists, ``calc_check_digit()``.
"""

from __future__ import annotations

from collections.abc import Callable


class ValidationError(ValueError):
    """Base of every identifier error."""

    message = "Invalid value"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.message)


class InvalidFormat(ValidationError):
    message = "The value has an invalid format"


class InvalidLength(InvalidFormat):
    message = "The value has an invalid length"


class InvalidChecksum(ValidationError):
    message = "The check digit is wrong"


class InvalidComponent(ValidationError):
    message = "A component of the value is invalid"


def clean(value: str, drop: str = " -/") -> str:
    """Strip the separators people type (spaces, dashes, slashes) and surrounding blanks."""
    return "".join(ch for ch in str(value).strip() if ch not in drop)


def digits(value: str, length: int) -> str:
    """``value`` cleaned, when it is ``length`` digits (else InvalidFormat, InvalidLength)."""
    value = clean(value)
    if not value.isdigit():
        raise InvalidFormat()
    if len(value) != length:
        raise InvalidLength()
    return value


def is_valid_by(validate: Callable[[str], str], value: str) -> bool:
    """``validate(value)`` as a yes or no: every module's ``is_valid()``."""
    try:
        return bool(validate(value))
    except ValidationError:
        return False
