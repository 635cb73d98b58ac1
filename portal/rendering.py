"""Server-rendered pages: one Jinja2 environment per language, each with Jinja2's i18n
extension and that language's ``portal`` catalog installed (``install_gettext_translations``),
so concurrent requests in different languages never share a translation."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from casslink import i18n

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(language, "portal"),  # type: ignore[attr-defined]
                                     newstyle=True)
    env.filters["money"] = lambda minor, cur: i18n.format_money(int(minor), cur, language)
    env.filters["number"] = lambda n: i18n.format_number(int(n), language)
    env.filters["date"] = lambda d: i18n.format_date(d, language) if d else ""
    env.filters["datetime"] = lambda t: (
        t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if t else "")
    env.globals.update(LANGUAGES=i18n.LANGUAGES, NATIVE_NAMES=i18n.NATIVE_NAMES,
                       language=language)
    return env


def compile_templates(language: str = i18n.DEFAULT_LANGUAGE) -> None:
    """Compile the portal's page templates (not the disputes' or payments', of their own
    environments) in ``language`` now (~0.1 s), not on each one's first request (a few ms
    each, while other requests wait): a portal process does it as it starts."""
    env = environment(language)
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html") and "/" not in n):
        env.get_template(name)


class _Fallback:
    """A domain's catalog, falling back to ``portal`` (the base page's messages)."""

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def gettext(self, message: str) -> str:
        got = self.first.gettext(message)
        return got if got != message else self.second.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        got = self.first.ngettext(singular, plural, n)
        return got if got not in (singular, plural) else self.second.ngettext(singular,
                                                                              plural, n)


@cache
def domain_environment(language: str, domain: str) -> Environment:
    """The pages of a feature with its own gettext ``domain`` (``disputes``, ``payments``):
    the portal environment's filters and globals, that domain's catalog first, then the
    portal's."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    base = environment(language)
    env.filters.update(base.filters)
    env.globals.update(base.globals)  # first: they hold the portal's gettext callables
    env.install_gettext_translations(_Fallback(i18n.translations(language, domain),  # type: ignore[attr-defined]
                                               i18n.translations(language, "portal")),
                                     newstyle=True)
    return env


def page_language(request: Request) -> str:
    p = getattr(request.state, "principal", None)
    if p is not None:
        return p.language
    return i18n.negotiate(request.state.session.language,
                          request.headers.get("accept-language"))


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """Render ``template`` in the request's language with the common context (the user, the
    CSRF token, the participant switcher)."""
    language = page_language(request)
    p = getattr(request.state, "principal", None)
    session = request.state.session
    context.setdefault("participant", session.participant)
    if p is not None and "current_code" not in context:
        codes = [g.code for g in p.grants]
        context["current_code"] = session.participant if session.participant in codes else (
            codes[0] if codes else None)
    html = environment(language).get_template(template).render(
        request=request, principal=p, csrf=session.csrf, session=session, **context)
    return HTMLResponse(html, status_code=status_code)
