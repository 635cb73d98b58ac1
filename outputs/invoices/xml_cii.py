"""A document as EN 16931 CII XML (UN/CEFACT Cross Industry Invoice D16B), Factur-X 1.0
profile EN16931 (``urn:cen.eu:en16931:2017``): the XML embedded in the PDF/A-3.

Tax in a national currency (``Document.tax_currency``): TaxCurrencyCode (BT-6) and a second
TaxTotalAmount in that currency (BT-111); the rate and its date are in a note (BT-22).

Element order follows the Factur-X EN16931 XSD (validated in :mod:`validation`). A line's
price is never negative (BR-27): a negative line is quantity -1 at its positive price.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from casslink.money import to_decimal
from casslink.outputs.invoices.documents import Document, Party
from casslink.outputs.invoices.wording import exemption_text, item_text, notes

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
GUIDELINE = "urn:cen.eu:en16931:2017"
VAT_SCHEMES = ("VAT",)  # tax ids that are VAT identifiers (BT-31/48: ISO country prefix)


def _e(parent: etree._Element, tag: str, text: str | None = None, **attrs: str
       ) -> etree._Element:
    ns, _, name = tag.partition(":")
    el = etree.SubElement(parent, f"{{{NS[ns]}}}{name}", attrs)
    if text is not None:
        el.text = text
    return el


def amount(minor: int, currency: str) -> str:
    return str(to_decimal(minor, currency))


def percent(rate_bp: int) -> str:
    return str((Decimal(rate_bp) / 100).quantize(Decimal("0.01")))


def _date(parent: etree._Element, tag: str, iso: str) -> None:
    holder = _e(parent, tag)
    _e(holder, "udt:DateTimeString", iso.replace("-", ""), format="102")


def _party(parent: etree._Element, tag: str, p: Party) -> None:
    el = _e(parent, tag)
    _e(el, "ram:Name", p.name)
    addr = _e(el, "ram:PostalTradeAddress")
    _e(addr, "ram:PostcodeCode", p.postcode)
    _e(addr, "ram:LineOne", p.street)
    _e(addr, "ram:CityName", p.city)
    _e(addr, "ram:CountryID", p.country)
    if p.tax_id:
        reg = _e(el, "ram:SpecifiedTaxRegistration")
        _e(reg, "ram:ID", p.tax_id, schemeID="VA" if p.tax_scheme in VAT_SCHEMES else "FC")


def _tax(parent: etree._Element, category: str, rate_bp: int) -> None:
    t = _e(parent, "ram:ApplicableTradeTax")
    _e(t, "ram:TypeCode", "VAT")
    _e(t, "ram:CategoryCode", category)
    if category == "S" or rate_bp:
        _e(t, "ram:RateApplicablePercent", percent(rate_bp))
    elif category in ("E", "Z", "G", "K", "AE"):
        _e(t, "ram:RateApplicablePercent", "0.00")


def cii_xml(doc: Document) -> bytes:
    """The Factur-X EN16931 XML of ``doc`` (UTF-8 bytes)."""
    cur = doc.currency
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NS)
    ctx = _e(root, "rsm:ExchangedDocumentContext")
    _e(_e(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", GUIDELINE)
    head = _e(root, "rsm:ExchangedDocument")
    _e(head, "ram:ID", doc.number or "PREVIEW")
    _e(head, "ram:TypeCode", doc.type_code)
    _date(head, "ram:IssueDateTime", doc.issue_date)
    for text in notes(doc, "en"):
        _e(_e(head, "ram:IncludedNote"), "ram:Content", text)
    tx = _e(root, "rsm:SupplyChainTradeTransaction")
    for line in doc.lines:
        item = _e(tx, "ram:IncludedSupplyChainTradeLineItem")
        _e(_e(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.line_id))
        _e(_e(item, "ram:SpecifiedTradeProduct"), "ram:Name", item_text(line, doc, "en"))
        price = _e(_e(item, "ram:SpecifiedLineTradeAgreement"),
                   "ram:NetPriceProductTradePrice")
        _e(price, "ram:ChargeAmount", amount(abs(line.amount), cur))
        _e(_e(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity",
           "-1" if line.amount < 0 else "1", unitCode="C62")
        settle = _e(item, "ram:SpecifiedLineTradeSettlement")
        _tax(settle, line.category, line.rate_bp)
        _e(_e(settle, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
           "ram:LineTotalAmount", amount(line.amount, cur))
    agreement = _e(tx, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", doc.supplier)
    _party(agreement, "ram:BuyerTradeParty", doc.customer)
    delivery = _e(tx, "ram:ApplicableHeaderTradeDelivery")
    event = _e(delivery, "ram:ActualDeliverySupplyChainEvent")
    _date(event, "ram:OccurrenceDateTime", doc.tax_point)
    settlement = _e(tx, "ram:ApplicableHeaderTradeSettlement")
    if doc.tax_currency:  # BT-6, the VAT accounting currency (the XSD puts it first)
        _e(settlement, "ram:TaxCurrencyCode", doc.tax_currency)
    _e(settlement, "ram:InvoiceCurrencyCode", cur)
    for t in doc.taxes:
        el = _e(settlement, "ram:ApplicableTradeTax")
        _e(el, "ram:CalculatedAmount", amount(t.tax, cur))
        _e(el, "ram:TypeCode", "VAT")
        if t.category != "S":
            _e(el, "ram:ExemptionReason", exemption_text(t.exemption_key, "en"))
        _e(el, "ram:BasisAmount", amount(t.base, cur))
        _e(el, "ram:CategoryCode", t.category)
        if t.exemption_code:
            _e(el, "ram:ExemptionReasonCode", t.exemption_code)
        if t.category != "O":
            _e(el, "ram:RateApplicablePercent", percent(t.rate_bp))
    period = _e(settlement, "ram:BillingSpecifiedPeriod")
    _date(period, "ram:StartDateTime", doc.period_start)
    _date(period, "ram:EndDateTime", doc.period_end)
    terms = _e(settlement, "ram:SpecifiedTradePaymentTerms")
    _date(terms, "ram:DueDateDateTime", doc.due_date)
    sums = _e(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _e(sums, "ram:LineTotalAmount", amount(doc.line_total, cur))
    _e(sums, "ram:TaxBasisTotalAmount", amount(doc.line_total, cur))
    _e(sums, "ram:TaxTotalAmount", amount(doc.tax_total, cur), currencyID=cur)
    if doc.tax_currency:  # BT-111: the same VAT total in the VAT accounting currency
        _e(sums, "ram:TaxTotalAmount", amount(doc.tax_total_national, doc.tax_currency),
           currencyID=doc.tax_currency)
    _e(sums, "ram:GrandTotalAmount", amount(doc.payable, cur))
    _e(sums, "ram:DuePayableAmount", amount(doc.payable, cur))
    if doc.cancels:
        _e(_e(settlement, "ram:InvoiceReferencedDocument"), "ram:IssuerAssignedID",
           doc.cancels)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
