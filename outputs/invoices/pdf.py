"""A document as PDF/A-3b with its EN 16931 CII XML embedded (Factur-X EN16931).

Typesetter: Typst (the ``typst`` package), chosen by measurement against WeasyPrint and
ReportLab (``benchmarks/invoice_typesetters.py``, docs/invoices.md): it writes PDF/A-3b
itself, attaches the XML (AFRelationship Data), embeds subsets of the fonts (Noto Sans CJK
from Debian's ``fonts-noto-cjk`` for every language: its Latin glyphs too, so the eight
languages look alike) with a ToUnicode map (text stays extractable), and compiles a page in
milliseconds. :mod:`facturx_xmp` then adds the Factur-X XMP properties (an incremental
update; the ``factur-x`` package's rewrite with pypdf took 3x the whole typesetting).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

from casslink.outputs.invoices.documents import Document
from casslink.outputs.invoices.facturx_xmp import add_facturx_xmp
from casslink.outputs.invoices.layout import page_model

TEMPLATE = Path(__file__).with_name("invoice.typ")
FONTS = {"zh-Hans": "Noto Sans CJK SC", "ko": "Noto Sans CJK KR"}
DEFAULT_FONT = "Noto Sans CJK JP"
PDF_STANDARD = "a-3b"


class RenderError(RuntimeError):
    """The typesetter failed (a missing font, a template error)."""


@cache
def _compiler():
    import typst

    return typst.Compiler(str(TEMPLATE))


def fonts_for(language: str, second: str = "") -> str:
    """The font list of a language (comma-separated, first match wins per glyph)."""
    first = FONTS.get(language, DEFAULT_FONT)
    other = FONTS.get(second, DEFAULT_FONT) if second else first
    return ",".join(dict.fromkeys([first, other]))


def typeset(doc: Document, xml: bytes | None = None) -> bytes:
    """The document's pages as PDF/A-3b, with ``xml`` attached as ``factur-x.xml``."""
    model = page_model(doc)
    inputs = {**({"xml": xml.decode("utf-8")} if xml is not None else {}),
              "page": json.dumps(model, ensure_ascii=False),
              "fonts": fonts_for(doc.language, doc.bilingual), "lang": doc.language[:2],
              "title": f"{model['blocks'][0]['title']} {doc.number or 'PREVIEW'}"}
    stamp = dt.datetime.fromisoformat(doc.issue_date).replace(tzinfo=dt.UTC)
    try:
        return _compiler().compile(sys_inputs=inputs, pdf_standards=[PDF_STANDARD],
                                   timestamp=int(stamp.timestamp()))
    except Exception as exc:  # typst raises its own error types
        raise RenderError(f"typst: {exc}") from exc


def render_pdf(doc: Document, xml: bytes) -> bytes:
    """The Factur-X PDF/A-3 of ``doc`` with ``xml`` (its validated CII XML) embedded."""
    return add_facturx_xmp(typeset(doc, xml))
