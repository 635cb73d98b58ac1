"""Benchmark: one invoice (the hand-computed one of tests/test_invoices_content.py) typeset in
Japanese and German by Typst, WeasyPrint and ReportLab, from the same page model
(outputs/invoices/layout.py). Per typesetter and language: the first document (fonts loaded),
the warm median of ``--repeat`` documents, the size, whether every label is extractable
(pdftotext), whether every font is embedded (pdffonts) and whether the file claims PDF/A-3
(XMP pdfaid). casslink renders with Typst: see docs/invoices.md for the figures.

    .venv/bin/python benchmarks/invoice_typesetters.py [--repeat 20]

WeasyPrint and ReportLab are not casslink dependencies: install the ``typesetters`` extra
(``uv pip install -e '.[typesetters]'``); a typesetter that is missing is reported as such.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import html
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa

from casslink.legal_parties import LegalData
from casslink.outputs.invoices.documents import Document, PeriodContext, build_documents
from casslink.outputs.invoices.layout import labels_of, page_model
from casslink.outputs.invoices.pdf import render_pdf
from casslink.outputs.invoices.tax_lines import derived_from_bills
from casslink.outputs.invoices.xml_cii import cii_xml

REPO = Path(__file__).resolve().parents[1]
CJK_OTF = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN_TTF = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def the_invoice(language: str) -> Document:
    amounts = {"weight_pp": 100000, "cca_weight_pp": 1000, "valuation_pp": 2000,
               "oc_carrier_pp": 5000, "oc_agent_cc": 1500, "discount": 2500,
               "commission": 5000, "tax_airline": 1900, "tax_agent": 950}
    bill = {"agent_code": "23718025100", "airline_prefix": "020", "records": 3,
            "awb_count": 2, "cca_records": 1, "dcm_records": 0, "net": 99950}
    for c in ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_cc", "discount",
              "commission", "tax_airline", "tax_agent"):
        for prefix in ("", "cca_", "dcm_"):
            bill[prefix + c] = amounts.get(prefix + c, 0)
    legal = LegalData.from_fixtures(REPO / "fixtures" / "reference")
    ctx = PeriodContext("DE", "2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                        dt.date(2026, 12, 28), "EUR", 7, dt.date(2026, 12, 10))
    doc = build_documents(ctx, [bill], derived_from_bills(pa.Table.from_pylist([bill]), 1900),
                          legal)[0]
    return dataclasses.replace(doc, language=language, number="DE-020-2026-000001")


# --- the three typesetters, each drawing the same blocks -----------------------------------

def typst_pdf(doc: Document) -> bytes:
    return render_pdf(doc, cii_xml(doc))


def _html(doc: Document) -> str:
    model = page_model(doc)
    parts = []
    for b in model["blocks"]:
        if b["kind"] == "title":
            parts.append(f"<h1>{html.escape(b['title'])}</h1><p class=n>"
                         f"{html.escape(b['label'])} <b>{b['number']}</b></p>")
        elif b["kind"] == "parties":
            parts.append("<div class=p>" + "".join(
                f"<div><small>{html.escape(p['label'])}</small><br><b>{html.escape(p['name'])}"
                f"</b><br>{'<br>'.join(map(html.escape, p['address']))}<br>"
                f"{html.escape(p['tax'])}</div>" for p in b["parties"]) + "</div>")
        elif b["kind"] in ("facts", "totals"):
            parts.append("<table>" + "".join(
                f"<tr><td>{html.escape(k)}</td><td class=r>{html.escape(v)}</td></tr>"
                for k, v in b["rows"]) + "</table>")
        elif b["kind"] == "table":
            parts.append("<table class=t><tr>" + "".join(
                f"<th>{html.escape(h)}</th>" for h in b["header"]) + "</tr>" + "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                for r in b["rows"]) + "</table>")
        else:
            parts.append("<p class=s>" + "<br>".join(map(html.escape, b["texts"])) + "</p>")
    return ("<html><head><style>@page{size:A4;margin:16mm}body{font-family:'Noto Sans CJK JP';"
            "font-size:9pt}table{width:100%;border-collapse:collapse}th{background:#e1e1e1;"
            "text-align:left}.r{text-align:right}.p{display:flex;gap:8mm}.p div{flex:1}"
            ".s{font-size:7.5pt}</style></head><body>" + "".join(parts) + "</body></html>")


def weasyprint_pdf(doc: Document) -> bytes:
    from weasyprint import HTML, Attachment

    xml = cii_xml(doc)
    return HTML(string=_html(doc)).write_pdf(
        pdf_variant="pdf/a-3b",
        attachments=[Attachment(string=xml, name="factur-x.xml", relationship="Data")])


def reportlab_pdf(doc: Document) -> bytes:
    """ReportLab embeds TrueType outlines only; Noto CJK is CFF (OpenType), so Japanese falls
    back to a CID font that is NOT embedded (HeiseiKakuGo-W5): no PDF/A."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    if doc.language in ("ja", "zh-Hans", "ko"):
        font = {"ja": "HeiseiKakuGo-W5", "zh-Hans": "STSong-Light",
                "ko": "HYGothic-Medium"}[doc.language]
        if font not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(font))
    else:
        font = "DejaVuSans"
        if font not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(font, LATIN_TTF))
    style = ParagraphStyle("b", fontName=font, fontSize=9, leading=11)
    title = ParagraphStyle("t", fontName=font, fontSize=18, leading=22)
    flow = []
    for b in page_model(doc)["blocks"]:
        if b["kind"] == "title":
            flow += [Paragraph(html.escape(b["title"]), title),
                     Paragraph(f"{html.escape(b['label'])} {b['number']}", style)]
        elif b["kind"] == "parties":
            flow.append(Table([[Paragraph("<br/>".join(map(html.escape, [
                p["label"], p["name"], *p["address"], p["tax"]])), style)
                for p in b["parties"]]]))
        elif b["kind"] in ("facts", "totals"):
            flow.append(Table([[Paragraph(html.escape(c), style) for c in r]
                               for r in b["rows"]]))
        elif b["kind"] == "table":
            flow.append(Table([[Paragraph(html.escape(c), style) for c in r]
                               for r in [b["header"], *b["rows"]]]))
        else:
            flow += [Paragraph(html.escape(t), style) for t in b["texts"]]
        flow.append(Spacer(1, 3 * mm))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=doc.number).build(flow)
    return buf.getvalue()


TYPESETTERS = {"typst": typst_pdf, "weasyprint": weasyprint_pdf, "reportlab": reportlab_pdf}


def _checks(pdf: bytes, doc: Document) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.pdf"
        path.write_bytes(pdf)
        out = {}
        if shutil.which("pdftotext"):
            text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                           text=True).stdout.split())
            labels = [" ".join(x.split()) for x in labels_of(doc)]
            out["labels_extractable"] = f"{sum(x in text for x in labels)}/{len(labels)}"
        if shutil.which("pdffonts"):
            lines = subprocess.run(["pdffonts", str(path)], capture_output=True,
                                   text=True).stdout.splitlines()[2:]
            out["fonts_embedded"] = f"{sum(' yes ' in ln[50:] for ln in lines)}/{len(lines)}"
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    meta = reader.trailer["/Root"].get("/Metadata")
    xmp = meta.get_object().get_data() if meta is not None else b""
    out["claims_pdfa3"] = b"<pdfaid:part>3</pdfaid:part>" in xmp or b'pdfaid:part="3"' in xmp
    out["xml_attached"] = "factur-x.xml" in reader.attachments
    return out


def measure(name: str, language: str, repeat: int) -> dict:
    doc = the_invoice(language)
    try:
        t0 = time.perf_counter()
        pdf = TYPESETTERS[name](doc)
        first = time.perf_counter() - t0
    except ImportError as exc:
        return {"typesetter": name, "language": language, "error": f"not installed ({exc})"}
    times = []
    for i in range(repeat):
        d = dataclasses.replace(doc, number=f"DE-020-2026-{i + 2:06d}")
        t0 = time.perf_counter()
        TYPESETTERS[name](d)
        times.append(time.perf_counter() - t0)
    return {"typesetter": name, "language": language, "first_s": round(first, 3),
            "warm_ms": round(statistics.median(times) * 1000, 1),
            "docs_per_s": round(1 / statistics.median(times), 1), "bytes": len(pdf),
            **_checks(pdf, doc)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    rows = [measure(name, lang, args.repeat) for name in TYPESETTERS for lang in ("ja", "de")]
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
