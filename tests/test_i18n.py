"""The shared gettext catalogs: every message of every domain has a real translation in every
language, with the same placeholders; languages are negotiated and amounts formatted per
locale."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from babel.messages.pofile import read_po

from casslink import i18n

PLACEHOLDER = re.compile(r"\{[a-z_0-9]*\}|%\([a-z_0-9]+\)[sd]|%[sd]")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _template(domain: str) -> list[str]:
    with (i18n.LOCALES_DIR / f"{domain}.pot").open("rb") as f:
        return [m.id for m in read_po(f) if m.id]


@pytest.mark.parametrize("domain", i18n.DOMAINS)
@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_every_message_has_a_real_translation(domain: str, language: str) -> None:
    ids = _template(domain)
    assert ids, f"{domain}.pot holds no message"
    with i18n.po_path(language, domain).open("rb") as f:
        catalog = read_po(f, locale=i18n.babel_id(language))
    problems = []
    for msgid in ids:
        message = catalog.get(msgid)
        text = message.string if message is not None else ""
        if not text or (message is not None and message.fuzzy):
            problems.append(f"missing: {msgid!r}")
            continue
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(msgid)):
            problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
        if language in ("zh-Hans", "ja", "ko") and LATIN_WORD.search(
                PLACEHOLDER.sub("", msgid)) and not CJK.search(text):
            problems.append(f"not translated: {msgid!r} -> {text!r}")
    assert not problems, f"{language}/{domain}: " + "; ".join(problems[:20])


def test_catalogs_translate_at_run_time() -> None:
    assert i18n.gettext("ja", "portal", "Language") == "言語"
    assert i18n.gettext("de", "portal", "Language") == "Sprache"
    assert i18n.gettext("en", "portal", "Language") == "Language"
    assert i18n.gettext("ko", "portal", "no such message") == "no such message"


def test_language_negotiation() -> None:
    assert i18n.negotiate("ja", "de-DE,de;q=0.9") == "ja"
    assert i18n.negotiate(None, "fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.negotiate(None, "en;q=0.2, zh-CN;q=0.8") == "zh-Hans"
    assert i18n.negotiate("xx", "pt-BR") == "pt"
    assert i18n.negotiate(None, "sv, nl;q=0.5") == "en"
    assert i18n.negotiate(None, None) == "en"


def test_amounts_and_dates_per_locale() -> None:
    assert i18n.format_money(123456, "EUR", "de") == "1.234,56\xa0€"
    assert i18n.format_money(123456, "EUR", "en") == "€1,234.56"
    assert i18n.format_money(1234, "JPY", "ja") == "￥1,234"
    assert i18n.format_money(-5, "KRW", "ko") == "-₩5"
    assert i18n.format_date(dt.date(2026, 12, 6), "de") == "06.12.2026"
    assert i18n.format_date(dt.date(2026, 12, 6), "ja") == "2026/12/06"
    with pytest.raises(ValueError, match="unknown language"):
        i18n.locale("xx")
