"""The eight languages of casslink and their gettext catalogs, shared by the portal and every
document (statements, acknowledgements, reports, invoices).

Catalogs are gettext ``.po`` files, one per domain and language:
``casslink/locales/<locale>/LC_MESSAGES/<domain>.po`` with the template
``casslink/locales/<domain>.pot``. Domains: ``portal`` (web pages and API messages),
``documents`` (labels of the files casslink writes), ``statements`` (the labels of the Excel
statements and the text acknowledgements: docs/document-languages.md) and ``disputes`` (the
dispute pages). They are read with Babel and compiled in memory on first use, so there is no
build step; tests/test_i18n.py fails when a message of a template lacks a real translation in
any language.

Language tags are the portal's (BCP 47: ``zh-Hans``); Babel's locale ids use ``_``.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from casslink.money import to_decimal

LANGUAGES = ("en", "de", "fr", "es", "pt", "zh-Hans", "ja", "ko")
"""Every language a user or a participant's documents can have, in display order."""
DEFAULT_LANGUAGE = "en"
DOMAINS = ("portal", "documents", "statements", "disputes", "payments")
LOCALES_DIR = Path(__file__).parent / "locales"

NATIVE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español",
                "pt": "Português", "zh-Hans": "简体中文", "ja": "日本語", "ko": "한국어"}
"""Each language named in itself, for language pickers."""


def babel_id(language: str) -> str:
    """``zh-Hans`` -> ``zh_Hans``: the folder and Babel locale id of a language tag."""
    return language.replace("-", "_")


def locale(language: str) -> Locale:
    """The Babel locale of one of LANGUAGES (formats numbers, dates and currencies)."""
    return Locale.parse(babel_id(check(language)))


def check(language: str) -> str:
    """``language`` if it is one of LANGUAGES, else ValueError naming them."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    return language


def po_path(language: str, domain: str) -> Path:
    return LOCALES_DIR / babel_id(language) / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(language: str, domain: str) -> NullTranslations:
    """The compiled catalog of ``domain`` in ``language``; English (the message ids are
    English) and a missing catalog give NullTranslations, which return the id."""
    path = po_path(check(language), domain)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=babel_id(language), domain=domain)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=domain)


def gettext(language: str, domain: str, message: str) -> str:
    """``message`` translated into ``language`` (the id itself where none is known)."""
    return translations(language, domain).gettext(message)


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """A user's language: their choice when it is one of LANGUAGES, else the best match of
    an HTTP Accept-Language header (``zh-CN`` and ``zh`` mean zh-Hans), else English."""
    if chosen in LANGUAGES:
        return chosen
    wanted: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            wanted.append((-q, i, tag.strip()))  # type: ignore[arg-type]
    for *_, tag in sorted(wanted):
        low = tag.lower()
        for language in LANGUAGES:
            if low == language.lower() or low.split("-")[0] == language.split("-")[0].lower():
                return language
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=1 << 16)
def format_money(minor: int, currency: str, language: str) -> str:
    """Minor units as the locale writes an amount of that currency (``1.234,56 €``).
    Memoized: Babel takes ~50 µs an amount, and a page (the live period view, polled every
    few seconds) shows the same few hundred amounts again and again."""
    return numbers.format_currency(to_decimal(minor, currency), currency,
                                   locale=locale(language))


@lru_cache(maxsize=1 << 14)
def format_number(value: int, language: str) -> str:
    return numbers.format_decimal(value, locale=locale(language))


def format_rate(value: str, language: str) -> str:
    """A rate of exchange (decimal text) as the locale writes it, every digit kept."""
    return numbers.format_decimal(Decimal(value), "#,##0.##########", locale=locale(language))


def format_date(value: dt.date, language: str, form: str = "medium") -> str:
    """A date as the locale writes it (``06.12.2026``, ``2026/12/06``, ...)."""
    return dates.format_date(value, format=form, locale=locale(language))
