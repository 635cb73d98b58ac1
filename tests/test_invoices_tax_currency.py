"""Tax in the national currency (Directive 2006/112/EC Art. 230; EN 16931 BT-6, BT-111): a DE
invoice in US dollars states its VAT in euros too, at the ECB reference rate of the tax
point, in the PDF, the CII and the UBL; figures computed by hand from the ECB's published
rate. The rates table itself: latest rate on or before a date, cross rates, staleness."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from decimal import Decimal

import pyarrow as pa
import pytest
from lxml import etree

from casslink.exchange_rates import ExchangeRates, RateMissing
from casslink.legal_parties import LegalData
from casslink.outputs.invoices.documents import InvoiceError, PeriodContext, build_documents
from casslink.outputs.invoices.layout import page_model
from casslink.outputs.invoices.pdf import render_pdf
from casslink.outputs.invoices.tax_lines import derived_from_bills
from casslink.outputs.invoices.validation import business_rule_errors, validate
from casslink.outputs.invoices.wording import notes
from casslink.outputs.invoices.xml_cii import NS, cii_xml
from casslink.outputs.invoices.xml_ubl import CAC, CBC, ubl_xml
from tests.conftest import REPO
from tests.test_invoices_content import BILL

REF = REPO / "fixtures" / "reference"


@pytest.fixture(scope="module")
def legal() -> LegalData:
    return LegalData.from_fixtures(REF)


def _documents(legal, currency: str, end: dt.date = dt.date(2026, 10, 31), bill=BILL):
    ctx = PeriodContext("DE", "2026-10", end.replace(day=1), end, end + dt.timedelta(days=28),
                        currency, 7, end + dt.timedelta(days=10))
    return build_documents(ctx, [bill], derived_from_bills(pa.Table.from_pylist([bill]), 1900),
                           legal)


def test_rates_are_the_ecb_figures_latest_on_or_before_the_day():
    rates = ExchangeRates.from_fixtures(REF)
    # ECB, Friday 2026-10-30: 1 EUR = 1.1172 USD = 175.68 JPY; the Saturday takes Friday's
    usd = rates.rate("USD", "EUR", dt.date(2026, 10, 31))
    assert (usd.rate, usd.date, usd.source) == (Decimal("0.895095"), dt.date(2026, 10, 30),
                                                "ECB")  # 1 / 1.1172 = 0.89509488...
    assert rates.rate("EUR", "USD", dt.date(2026, 10, 30)).rate == Decimal("1.1172")
    assert rates.rate("USD", "JPY", dt.date(2026, 10, 30)).rate == Decimal("157.250")
    assert rates.rate("USD", "EUR", dt.date(2026, 10, 29)).rate == Decimal("0.898473")  # 1.113
    assert usd.convert(1900) == 1701  # 19.00 x 0.895095 = 17.0068 -> 17.01
    assert usd.convert(-950) == -850  # -8.5034 -> -8.50
    with pytest.raises(RateMissing):  # a month after the last rate: none is current
        rates.rate("USD", "EUR", dt.date(2026, 11, 30))
    with pytest.raises(RateMissing):  # the ECB publishes no PKR rate
        rates.rate("PKR", "EUR", dt.date(2026, 10, 30))
    with pytest.raises(RateMissing):  # before the table's first day
        rates.rate("USD", "EUR", dt.date(2026, 10, 18))


def test_a_usd_invoice_of_a_eur_country_states_its_vat_in_euros(legal):
    invoice, commission = _documents(legal, "USD")
    # by hand: VAT due airline 19.00 USD x (1 / 1.1172) = 17.0068 -> 17.01 EUR; VAT due
    # agent 9.50 USD -> 8.5034 -> 8.50 EUR; ECB rate of Friday 2026-10-30 (tax point 10-31)
    assert (invoice.currency, invoice.tax_total) == ("USD", 1900)
    assert (invoice.tax_currency, invoice.tax_total_national, invoice.tax_rate,
            invoice.tax_rate_date) == ("EUR", 1701, "0.895095", "2026-10-30")
    assert (commission.tax_total, commission.tax_total_national) == (950, 850)
    assert ("VAT in EUR: €17.01 at 1 USD = 0.895095 EUR (ECB reference rate of 2026-10-30)"
            in notes(invoice, "en"))

    cii = cii_xml(invoice)
    validate(cii)  # Factur-X EN16931 XSD, BR-CO-10..17, BR-53
    root = etree.fromstring(cii)
    s = "//ram:ApplicableHeaderTradeSettlement/"
    assert root.xpath(f"string({s}ram:TaxCurrencyCode)", namespaces=NS) == "EUR"
    assert [(x.get("currencyID"), x.text) for x in root.xpath(
        f"{s}ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount",
        namespaces=NS)] == [("USD", "19.00"), ("EUR", "17.01")]
    assert root.xpath(f"string({s}ram:InvoiceCurrencyCode)", namespaces=NS) == "USD"

    ubl = ubl_xml(invoice)
    validate(ubl)  # UBL 2.1 XSD, BR-CO-10..17, BR-53
    ns = {"cac": CAC, "cbc": CBC}
    root = etree.fromstring(ubl)
    assert root.findtext(f"{{{CBC}}}TaxCurrencyCode") == "EUR"
    assert [(x.get("currencyID"), x.text) for x in root.xpath(
        "/*/cac:TaxTotal/cbc:TaxAmount", namespaces=ns)] == [("USD", "19.00"), ("EUR", "17.01")]
    assert len(root.xpath("/*/cac:TaxTotal[2]/cac:TaxSubtotal", namespaces=ns)) == 0

    german = dataclasses.replace(invoice, language="de", number="DE-020-2026-000001")
    totals = next(b for b in page_model(german)["blocks"] if b["kind"] == "totals")
    assert totals["rows"] == [["Summe netto", "1.040,00\xa0$"],
                              ["Steuer gesamt", "19,00\xa0$"],
                              ["Steuer gesamt in EUR", "17,01\xa0€"],
                              ["Zahlbetrag", "1.059,00\xa0$"]]
    pdf = render_pdf(german, cii)  # pdftotext: poppler-utils, installed by .ci/run
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode().replace("\xa0", " ")
    assert "Steuer gesamt in EUR" in text and "17,01 €" in text
    assert "zum Kurs 1 USD = 0,895095 EUR (Referenzkurs ECB vom 2026-10-30)" in text


def test_a_credit_note_states_the_national_vat_as_it_states_the_vat(legal):
    credit = dict(BILL, weight_pp=-200000, cca_weight_pp=0, net=-201050)
    invoice = _documents(legal, "USD", bill=credit)[0]
    # by hand: supply -2000.00 + 20 + 50 - 15 - 25 = -1970.00, VAT 19.00: payable -1951.00,
    # a credit note stating 1970.00 and VAT -19.00 (its signs reversed) -> EUR -17.01
    assert (invoice.type_code, invoice.line_total, invoice.tax_total, invoice.payable) == (
        "381", 197000, -1900, 195100)
    assert invoice.tax_total_national == -1701
    for xml in (cii_xml(invoice), ubl_xml(invoice)):
        validate(xml)
    assert b'<cbc:TaxAmount currencyID="EUR">-17.01</cbc:TaxAmount>' in ubl_xml(invoice)


def test_no_national_figure_where_the_invoice_is_in_the_national_currency(legal):
    invoice, _ = _documents(legal, "EUR")
    assert (invoice.tax_currency, invoice.tax_total_national) == ("", 0)
    assert b"TaxCurrencyCode" not in cii_xml(invoice) + ubl_xml(invoice)


def test_no_rate_at_the_tax_point_no_document(legal):
    with pytest.raises(InvoiceError, match="tax in EUR needs a rate"):
        _documents(legal, "USD", end=dt.date(2026, 11, 30))


def test_br_53_a_vat_accounting_currency_needs_its_total(legal):
    invoice, _ = _documents(legal, "USD")
    cii = cii_xml(invoice).replace(b'<ram:TaxTotalAmount currencyID="EUR">17.01'
                                   b"</ram:TaxTotalAmount>", b"")
    assert [e[:5] for e in business_rule_errors(cii)] == ["BR-53"]
    ubl = ubl_xml(invoice).replace(b"<cbc:TaxCurrencyCode>EUR</cbc:TaxCurrencyCode>", b"")
    assert [e[:5] for e in business_rule_errors(ubl)] == ["BR-53"]


def test_a_period_without_vat_needs_no_rate(legal):
    """No document states VAT, so none needs a national figure: no rate is looked up (a USD
    period whose tax point has no ECB rate still gets its documents)."""
    untaxed = dict(BILL, tax_airline=0, tax_agent=0, net=BILL["net"] - 1900 + 950)
    for end in (dt.date(2026, 11, 30), dt.date(2026, 10, 31)):  # no rate / a rate at hand
        invoice, commission = _documents(legal, "USD", end=end, bill=untaxed)
        assert (invoice.tax_total, commission.tax_total) == (0, 0)
        assert (invoice.tax_currency, invoice.tax_total_national) == ("", 0)
        for xml in (cii_xml(invoice), ubl_xml(invoice)):
            validate(xml)
            assert b"TaxCurrencyCode" not in xml
