"""Merge the invoices' messages (scripts/invoice_translations.tsv: msgid + one column per
language) into the ``documents`` gettext catalogs: ``casslink/locales/documents.pot`` and
every ``<lang>/LC_MESSAGES/documents.po``. Messages already there (other documents' labels)
are kept; ours are added or updated. Deterministic.

Run: .venv/bin/python scripts/make_invoice_catalog.py
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "casslink" / "locales"
TSV = Path(__file__).with_name("invoice_translations.tsv")


def _read(path: Path, locale: str | None) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, domain="documents", project="casslink")
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain="documents")


STAMP = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)  # fixed: reruns change nothing


def _write(path: Path, catalog: Catalog) -> None:
    catalog.project, catalog.version = "casslink", ""
    catalog.creation_date = catalog.revision_date = STAMP
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, no_location=True,
                 include_previous=False)


def main() -> None:
    with TSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    languages = [c for c in rows[0] if c != "msgid"]
    pot = _read(LOCALES / "documents.pot", None)
    for r in rows:
        pot.add(r["msgid"])
    _write(LOCALES / "documents.pot", pot)
    for lang in languages:
        path = LOCALES / lang.replace("-", "_") / "LC_MESSAGES" / "documents.po"
        catalog = _read(path, lang.replace("-", "_"))
        for r in rows:
            catalog.add(r["msgid"], r[lang])
        _write(path, catalog)


if __name__ == "__main__":
    main()
