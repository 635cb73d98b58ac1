"""The words of a document: titles, line items, exemption wording and legal notes, as data.

Every text is an English message id of the gettext domain ``documents``
(``casslink/locales``), translated per recipient language by :mod:`casslink.i18n`; an
operation whose rules want bilingual documents prints the second language beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casslink import i18n

if TYPE_CHECKING:
    from casslink.outputs.invoices.documents import Document, Line

DOMAIN = "documents"

TITLES = {"380": "Invoice", "381": "Credit note", "389": "Self-billed invoice",
          "261": "Self-billed credit note"}
"""Document title per UNTDID 1001 type code."""

ITEMS = {
    "transport_taxable": "Air cargo transport services",
    "transport_untaxed": "Air cargo transport services, international carriage",
    "commission_taxable": "Cargo sales agency services (commission)",
    "commission_untaxed": "Cargo sales agency services (commission), international carriage",
}
"""Line descriptions (the service, Art. 226(6)) per line item key."""

EXEMPTIONS = {
    "exempt_transport": "Exempt: international carriage of goods by air "
                        "(Directive 2006/112/EC, Art. 146 and 153)",
    "exempt_transport_in": "Exempt: transport of goods by air from or to India "
                           "(GST Notification 12/2017)",
    "exempt_transport_jp": "Tax exempt: international transport "
                           "(Consumption Tax Act, Art. 7)",
    "exempt_transport_cn": "Tax exempt: international transport services "
                           "(Caishui [2016] No. 36)",
    "exempt_transport_kr": "Tax exempt: international transport "
                           "(Value-Added Tax Act, Art. 23)",
    "exempt_transport_pk": "Exempt: international carriage of goods by air "
                           "(provincial sales tax on services)",
    "not_subject": "Not subject to VAT",
    "": "Not subject to VAT",
}
"""Exemption or non-taxation wording (Art. 226(11)) per rule key."""

COMPONENTS = {
    "weight_pp": "Prepaid weight charges", "valuation_pp": "Prepaid valuation charges",
    "oc_carrier_pp": "Other charges due carrier", "oc_agent_cc": "Collect charges due agent",
    "discount": "Discount", "commission": "Commission",
}
COUNTS = {"awb_count": "AWBs", "cca_records": "Corrections (CCA)",
          "dcm_records": "Debit and credit memos (DCM)"}

NOTES = {
    "self_billing": "Self-billing",
    "on_behalf": "Issued by CASS on behalf of the supplier",
    "cancels": "Cancels document {number}",
    "period": "Billing period {start} to {end}, settlement run {run}",
    "registration": "Qualified invoice issuer registration number {number}",
    "sac": "SAC {code}",
    "national_tax": "VAT in {currency}: {amount} at 1 {invoice_currency} = {rate} {currency} "
                    "({source} reference rate of {date})",
}

LABELS = (
    "Invoice number", "Issue date", "Tax point date", "Due date", "Billing period",
    "Settlement run", "Supplier", "Customer", "Tax ID", "Description", "Tax category",
    "Tax rate", "Amount", "Taxable amount", "Tax", "Total excluding tax", "Total tax",
    "Amount payable", "Tax breakdown", "Charges of the period", "Currency",
    "Page {page} of {pages}", "Number", "Total", "Total tax in {currency}",
)


def messages() -> list[str]:
    """Every message id of the invoices, in a stable order (documents.pot holds them)."""
    out: list[str] = []
    for group in (TITLES.values(), ITEMS.values(), EXEMPTIONS.values(),
                  COMPONENTS.values(), COUNTS.values(), NOTES.values(), LABELS):
        out.extend(m for m in group if m not in out)
    return out


def tr(message: str, language: str) -> str:
    return i18n.gettext(language, DOMAIN, message)


def both(message: str, language: str, second: str = "") -> str:
    """``message`` in ``language``, with ``second``'s beside it (``Rechnung / Invoice``)."""
    first = tr(message, language)
    if not second or second == language:
        return first
    other = tr(message, second)
    return first if other == first else f"{first} / {other}"


def item_text(line: Line, doc: Document, language: str) -> str:
    return tr(ITEMS[line.item], language)


def exemption_text(key: str, language: str) -> str:
    return tr(EXEMPTIONS.get(key, EXEMPTIONS[""]), language)


def notes(doc: Document, language: str) -> list[str]:
    """The legal mentions of ``doc`` (Art. 226(10a) self-billing, references, JP/IN, the
    VAT in the national currency of Art. 230)."""
    out = []
    if doc.doc_type == "self_billed":
        out.append(tr(NOTES["self_billing"], language))
    else:
        out.append(tr(NOTES["on_behalf"], language))
    if doc.cancels:
        out.append(tr(NOTES["cancels"], language).format(number=doc.cancels))
    out.append(tr(NOTES["period"], language).format(start=doc.period_start,
                                                    end=doc.period_end, run=doc.run_id))
    if doc.qualified_invoice and doc.supplier.tax_scheme == "JCT":
        out.append(tr(NOTES["registration"], language).format(number=doc.supplier.tax_id))
    if doc.service_code:
        out.append(tr(NOTES["sac"], language).format(code=doc.service_code))
    if doc.tax_currency:  # Art. 230: the VAT in the national currency, the rate and its date
        out.append(tr(NOTES["national_tax"], language).format(
            currency=doc.tax_currency, invoice_currency=doc.currency,
            rate=i18n.format_rate(doc.tax_rate, language),
            amount=i18n.format_money(doc.tax_total_national, doc.tax_currency, language),
            source=doc.tax_rate_source, date=doc.tax_rate_date))
    return out
