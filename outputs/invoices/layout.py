"""The invoice page as data: a table of blocks, each with its kind, its labels (message ids
of the ``documents`` catalog) and the document fields it shows.

:func:`page_model` turns a document into the list of filled blocks (every text already
translated and every amount and date formatted for the recipient's locale); the Typst
template (``invoice.typ``) only draws blocks by kind, so changing the page is changing a row
here, as the Excel layouts of ``outputs/layouts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from casslink import i18n
from casslink.outputs.invoices.documents import Document, Party
from casslink.outputs.invoices.wording import (
    COMPONENTS,
    COUNTS,
    TITLES,
    both,
    exemption_text,
    item_text,
    notes,
    tr,
)

NATIONAL_TOTAL = "Total tax in {currency}"


@dataclass(frozen=True)
class Block:
    """One block of the page. ``kind``: title | parties | facts | table | totals | notes.
    ``labels``: the message ids it prints (row labels of facts and totals, column headers
    of tables); ``fields``: the document fields (or derived ones) behind them."""

    key: str
    kind: str
    labels: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


BLOCKS: tuple[Block, ...] = (
    Block("title", "title", ("Invoice number",), ("title", "number")),
    Block("parties", "parties", ("Supplier", "Customer", "Tax ID"), ("supplier", "customer")),
    Block("facts", "facts",
          ("Issue date", "Tax point date", "Due date", "Billing period", "Settlement run",
           "Currency"),
          ("issue_date", "tax_point", "due_date", "period", "run_id", "currency")),
    Block("lines", "table", ("Description", "Tax category", "Tax rate", "Amount"),
          ("lines",)),
    Block("taxes", "table", ("Tax breakdown", "Taxable amount", "Tax rate", "Tax"),
          ("taxes",)),
    Block("totals", "totals", ("Total excluding tax", "Total tax", "Amount payable"),
          ("line_total", "tax_total", "payable")),
    Block("charges", "table", ("Charges of the period", "Amount"), ("components", "counts")),
    Block("notes", "notes", (), ("notes", "exemptions")),
)


def _money(minor: int, doc: Document, lang: str) -> str:
    return i18n.format_money(minor, doc.currency, lang)


def _date(iso: str, lang: str) -> str:
    import datetime as dt

    return i18n.format_date(dt.date.fromisoformat(iso), lang)


def _rate(rate_bp: int, lang: str) -> str:
    from babel import numbers

    return numbers.format_percent(rate_bp / 10_000, "#,##0.##%", locale=i18n.locale(lang))


def _national_label(doc: Document, lang: str, second: str) -> str:
    return both(NATIONAL_TOTAL, lang, second).replace("{currency}", doc.tax_currency)


def _party(p: Party, label: str, lang: str, second: str) -> dict:
    return {"label": both(label, lang, second), "name": p.name,
            "address": [p.street, f"{p.postcode} {p.city}", p.country],
            "tax": f"{both('Tax ID', lang, second)}: {p.tax_id}" if p.tax_id else ""}


def page_model(doc: Document) -> dict:
    """Every block of ``doc``'s page, filled and formatted in its language."""
    lang, second = doc.language, doc.bilingual
    blocks = []
    for b in BLOCKS:
        lab = [both(x, lang, second) for x in b.labels]
        if b.kind == "title":
            blocks.append({"kind": "title", "title": both(TITLES[doc.type_code], lang, second),
                           "label": lab[0], "number": doc.number or "PREVIEW"})
        elif b.kind == "parties":
            blocks.append({"kind": "parties", "parties": [
                _party(doc.supplier, "Supplier", lang, second),
                _party(doc.customer, "Customer", lang, second)]})
        elif b.kind == "facts":
            values = [_date(doc.issue_date, lang), _date(doc.tax_point, lang),
                      _date(doc.due_date, lang),
                      f"{_date(doc.period_start, lang)} – {_date(doc.period_end, lang)}",
                      f"{doc.operation} {doc.period_id} #{doc.run_id}", doc.currency]
            blocks.append({"kind": "facts", "rows": [list(r) for r in zip(lab, values,
                                                                              strict=True)]})
        elif b.key == "lines":
            rows = [[item_text(x, doc, lang), x.category, _rate(x.rate_bp, lang),
                     _money(x.amount, doc, lang)] for x in doc.lines]
            blocks.append({"kind": "table", "header": lab, "rows": rows,
                           "widths": [4, 1.6, 1, 2]})
        elif b.key == "taxes":
            rows = [[t.codes or t.category, _money(t.base, doc, lang), _rate(t.rate_bp, lang),
                     _money(t.tax, doc, lang)] for t in doc.taxes]
            blocks.append({"kind": "table", "header": lab, "rows": rows,
                           "widths": [4, 2, 1, 2]})
        elif b.kind == "totals":
            values = [doc.line_total, doc.tax_total, doc.payable]
            rows = [[label, _money(v, doc, lang)] for label, v in zip(lab, values, strict=True)]
            if doc.tax_currency:  # Art. 230: the VAT total in the national currency too
                rows.insert(2, [_national_label(doc, lang, second), i18n.format_money(
                    doc.tax_total_national, doc.tax_currency, lang)])
            blocks.append({"kind": "totals", "rows": rows})
        elif b.key == "charges":
            rows = [[tr(label, lang), _money(doc.components[k], doc, lang)]
                    for k, label in COMPONENTS.items() if doc.components.get(k)]
            rows += [[tr(COUNTS[k], lang), i18n.format_number(v, lang)]
                     for k, v in doc.counts.items() if v]
            blocks.append({"kind": "table", "header": lab, "rows": rows, "widths": [5, 2]})
        elif b.kind == "notes":
            texts = notes(doc, lang)
            texts += [exemption_text(t.exemption_key, lang) for t in doc.taxes
                      if t.category != "S"]
            if second:
                texts += [x for x in notes(doc, second) if x not in texts]
            blocks.append({"kind": "notes", "texts": texts})
    return {"language": lang, "footer": tr("Page {page} of {pages}", lang), "blocks": blocks}


def labels_of(doc: Document) -> list[str]:
    """The translated labels the page prints (what pdftotext must find)."""
    lang, second = doc.language, doc.bilingual
    out = [both(TITLES[doc.type_code], lang, second)]
    for b in BLOCKS:
        out.extend(both(x, lang, second) for x in b.labels)
    if doc.tax_currency:
        out.append(_national_label(doc, lang, second))
    return out
