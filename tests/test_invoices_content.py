"""One bill computed by hand becomes an invoice and a self-billed commission invoice whose
lines, tax lines, totals and wording are checked in each of the eight languages; Japan's
qualified invoice (T + 13 digits, tax rounded once per rate) and India's SAC; the reference
data's tax ids are valid."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess

import pyarrow as pa
import pytest
from lxml import etree

from casslink import i18n
from casslink.legal_parties import LegalData, LegalDataError, LegalParty, tax_id_problem
from casslink.outputs.invoices.documents import InvoiceError, PeriodContext, build_documents
from casslink.outputs.invoices.layout import labels_of, page_model
from casslink.outputs.invoices.pdf import render_pdf
from casslink.outputs.invoices.tax_lines import derived_from_bills
from casslink.outputs.invoices.validation import totals_of, validate
from casslink.outputs.invoices.xml_cii import cii_xml
from casslink.outputs.invoices.xml_ubl import ubl_xml
from tests.conftest import REPO

AGENT, AIRLINE = "23718025100", "020"  # a DE agent whose documents are in Japanese
ZERO = {c: 0 for c in ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_cc",
                       "discount", "commission", "tax_airline", "tax_agent")}


def _bill(**amounts: int) -> dict:
    bill = {"agent_code": AGENT, "airline_prefix": AIRLINE, "records": 3, "awb_count": 2,
            "cca_records": 1, "dcm_records": 0}
    for c in ZERO:
        bill[c] = amounts.get(c, 0)
        bill[f"cca_{c}"] = amounts.get(f"cca_{c}", 0)
        bill[f"dcm_{c}"] = 0
    return bill


# By hand: weight 1,000.00 + CCA 10.00, valuation 20.00, other charges due carrier 50.00,
# collect due agent 15.00, discount 25.00, commission 50.00, VAT due airline 19.00 (19% of
# 100.00), VAT due agent 9.50 (19% of 50.00). Agent net (spec 4.5):
# 1010 + 20 + 50 - 15 - 50 - 25 + 19 - 9.50 = 999.50
BILL = _bill(weight_pp=100000, cca_weight_pp=1000, valuation_pp=2000, oc_carrier_pp=5000,
             oc_agent_cc=1500, discount=2500, commission=5000, tax_airline=1900,
             tax_agent=950)
BILL["net"] = 99950


@pytest.fixture(scope="module")
def legal() -> LegalData:
    return LegalData.from_fixtures(REPO / "fixtures" / "reference")


def _ctx(operation: str = "DE", currency: str = "EUR") -> PeriodContext:
    return PeriodContext(operation, "2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                         dt.date(2026, 12, 28), currency, 7, dt.date(2026, 12, 10))


def _documents(legal, bill=BILL, operation="DE", currency="EUR", rate_bp=1900):
    rows = derived_from_bills(pa.Table.from_pylist([bill]), rate_bp)
    return build_documents(_ctx(operation, currency), [bill], rows, legal)


def test_the_hand_computed_bill_makes_an_invoice_and_a_self_billed_invoice(legal):
    invoice, commission = _documents(legal)
    assert (invoice.doc_type, invoice.type_code) == ("invoice", "380")
    assert invoice.supplier.code == AIRLINE and invoice.customer.code == AGENT
    assert invoice.supplier.tax_id == "DE142314290"
    assert invoice.language == "ja"  # the agent's language (parties.csv)
    # supply: 1010 + 20 + 50 - 15 - 25 = 1040.00; 100.00 of it taxed at 19%
    assert [(x.item, x.amount, x.category, x.rate_bp) for x in invoice.lines] == [
        ("transport_taxable", 10000, "S", 1900), ("transport_untaxed", 94000, "E", 0)]
    assert [(t.category, t.base, t.rate_bp, t.tax) for t in invoice.taxes] == [
        ("S", 10000, 1900, 1900), ("E", 94000, 0, 0)]
    assert (invoice.line_total, invoice.tax_total, invoice.payable) == (104000, 1900, 105900)
    # the commission, self-billed: the agent supplies, the airline is the customer
    assert (commission.doc_type, commission.type_code) == ("self_billed", "389")
    assert commission.supplier.code == AGENT and commission.customer.code == AIRLINE
    assert [(x.amount, x.category, x.rate_bp) for x in commission.lines] == [(5000, "S", 1900)]
    assert (commission.line_total, commission.tax_total, commission.payable) == (5000, 950, 5950)
    assert invoice.payable - commission.payable == BILL["net"]  # 999.50


def test_the_agents_chosen_language_wins_over_the_legal_partys(legal):
    """The portal's document-language setting (participants.language) decides; without one,
    the legal party's language (ja for this agent) stands. Content and numbers are equal."""
    rows = derived_from_bills(pa.Table.from_pylist([BILL]), 1900)
    chosen = build_documents(_ctx(), [BILL], rows, legal, {AGENT: "ko"})
    default = build_documents(_ctx(), [BILL], rows, legal, {"99999999999": "de"})
    assert [d.language for d in chosen] == ["ko", "ko"]
    assert [d.language for d in default] == ["ja", "ja"]
    assert [d.content_digest() for d in chosen] == [d.content_digest() for d in default]


def test_a_negative_supply_is_a_credit_note_with_positive_amounts(legal):
    bill = _bill(weight_pp=-20000, tax_airline=-3800, commission=-1000, tax_agent=-190)
    bill["net"] = -20000 - 3800 + 1000 + 190
    credit, sb_credit = _documents(legal, bill)
    assert credit.type_code == "381" and sb_credit.type_code == "261"
    assert (credit.line_total, credit.tax_total, credit.payable) == (20000, 3800, 23800)
    assert (sb_credit.payable, sb_credit.sign) == (1190, -1)
    for doc in (credit, sb_credit):
        for xml in (cii_xml(doc), ubl_xml(doc)):
            validate(xml)
    assert etree.fromstring(ubl_xml(credit)).tag.endswith("CreditNote")


def test_documents_that_do_not_add_up_to_the_bill_fail_loudly(legal):
    wrong = dict(BILL, net=BILL["net"] + 1)
    with pytest.raises(InvoiceError, match="documents move 99950, the bill's net is 99951"):
        _documents(legal, wrong)
    rows = derived_from_bills(pa.Table.from_pylist([BILL]), 1900)
    rows[0]["tax"] += 1  # the tax lines and the bill's VAT due airline disagree
    with pytest.raises(InvoiceError, match="tax lines add up to 1901"):
        build_documents(_ctx(), [BILL], rows, legal)


TITLES = {"en": "Invoice", "de": "Rechnung", "fr": "Facture", "es": "Factura", "pt": "Fatura",
          "zh-Hans": "发票", "ja": "請求書", "ko": "청구서"}
PAYABLE = {"en": "Amount payable", "de": "Zahlbetrag", "fr": "Montant à payer",
           "es": "Importe a pagar", "pt": "Montante a pagar", "zh-Hans": "应付金额",
           "ja": "支払金額", "ko": "지급액"}
EXEMPT = {"en": "Exempt:", "de": "Steuerfrei:", "fr": "Exonération", "es": "Exento:",
          "pt": "Isento:", "zh-Hans": "免税：", "ja": "免税：", "ko": "면세:"}
SELF_BILLING = {"en": "Self-billing", "de": "Gutschrift", "fr": "Autofacturation",
                "es": "Facturación por el destinatario", "pt": "Autofaturação",
                "zh-Hans": "自开票", "ja": "自己請求（仕入明細書）", "ko": "자기발행"}
TOTAL_1059 = {"en": "€1,059.00", "de": "1.059,00\xa0€", "fr": "1\u202f059,00\xa0€",
              "es": "1.059,00\xa0€", "pt": "€\xa01.059,00", "zh-Hans": "€1,059.00",
              "ja": "€1,059.00", "ko": "€1,059.00"}


def _texts(model: dict) -> list[str]:
    out = []

    def walk(x):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                if k != "kind":
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(model)
    return out


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_hand_computed_invoice_in_each_language(legal, language):
    invoice, commission = (dataclasses.replace(d, language=language,
                                               number="DE-020-2026-000001")
                           for d in _documents(legal))
    texts = _texts(page_model(invoice)["blocks"])
    assert texts[0] == TITLES[language]
    assert PAYABLE[language] in texts
    assert TOTAL_1059[language] in texts  # 1,059.00 payable, written as the locale does
    assert any(t.startswith(EXEMPT[language]) for t in texts)
    assert i18n.format_date(dt.date(2026, 12, 10), language) in texts
    sb_texts = _texts(page_model(commission)["blocks"])
    assert SELF_BILLING[language] in sb_texts  # Art. 226(10a): the mention "self-billing"
    # the XML is the same in every language: amounts as decimals, English wording
    cii = totals_of(cii_xml(invoice))
    assert (str(cii["BT-109"]), str(cii["BT-110"]), str(cii["BT-115"])) == (
        "1040.00", "19.00", "1059.00")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_pdf_text_is_extractable_in_each_language(legal, language, tmp_path):
    invoice = dataclasses.replace(_documents(legal)[0], language=language,
                                  number="DE-020-2026-000001")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(render_pdf(invoice, cii_xml(invoice)))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    words = " ".join(text.split())  # a narrow column wraps its header
    for label in labels_of(invoice):
        assert " ".join(label.split()) in words, f"{language}: {label!r} not extractable"
    assert "DE-020-2026-000001" in text


def _jp_legal(legal: LegalData) -> LegalData:
    agent = LegalParty("agent", AGENT, "JP", "成田エアカーゴ株式会社", "成田市取香1-1",
                       "286-0121", "Narita", "JP", "JCT", "T8010001000001", "ja")
    jp = LegalData(dict(legal.parties), dict(legal.rules))
    jp.parties[("agent", AGENT, "JP")] = agent
    return jp


def test_japan_qualified_invoice(legal):
    jp = _jp_legal(legal)
    from stdnum.jp import cn

    base = "010001000001"
    number = "T" + cn.calc_check_digit(base) + base
    jp.parties[("agent", AGENT, "JP")] = dataclasses.replace(
        jp.parties[("agent", AGENT, "JP")], tax_id=number)
    assert tax_id_problem("JCT", number) is None
    assert tax_id_problem("JCT", number[:-1] + str((int(number[-1]) + 1) % 10))
    bill = _bill(weight_pp=10000, tax_airline=1000, commission=500, tax_agent=50)
    bill["net"] = 10000 + 1000 - 500 - 50
    invoice, _commission = _documents(jp, bill, "JP", "JPY", 1000)
    assert invoice.qualified_invoice and invoice.bilingual == "en"
    model = page_model(dataclasses.replace(invoice, language="ja"))
    texts = _texts(model["blocks"])
    assert texts[0] == "請求書 / Invoice"  # bilingual: Japanese with English beside it
    airline_id = legal.party("airline", AIRLINE, "JP").tax_id
    assert f"適格請求書発行事業者登録番号 {airline_id}" in texts
    assert "￥11,000" in texts  # 10,000 yen + 10% consumption tax, whole yen
    validate(cii_xml(invoice))
    validate(ubl_xml(invoice))
    # tax summed per record (two records of 5,005 yen: 501 + 501) is not rounded once per
    # rate (10,010 x 10% = 1,001): a qualified invoice refuses it
    rows = [{"agent_code": AGENT, "airline_prefix": AIRLINE, "code": "JCT", "name": "JCT",
             "side": "airline", "rate_bp": 1000, "applies_to": "freight",
             "rule_version": "t", "base": 10010, "tax": 1002, "lines": 2}]
    bad = _bill(weight_pp=10010, tax_airline=1002)
    bad["net"] = 11012
    with pytest.raises(InvoiceError, match="not rounded once per rate"):
        build_documents(_ctx("JP", "JPY"), [bad], rows, jp)


def test_india_gst_invoice_names_gstin_and_sac(legal):
    agent = next(p for p in legal.parties.values() if p.kind == "agent" and
                 p.operation == "IN")
    bill = dict(_bill(weight_pp=50000, tax_airline=9000), agent_code=agent.code,
                net=59000)
    (invoice,) = _documents(legal, bill, "IN", "INR", 1800)
    assert invoice.service_code == "996531"
    assert invoice.customer.tax_scheme == "GST" and len(invoice.customer.tax_id) == 15
    english = dataclasses.replace(invoice, language="en")
    assert "SAC 996531" in _texts(page_model(english)["blocks"])
    validate(cii_xml(invoice))


def test_reference_tax_ids_are_valid_and_a_bad_one_is_refused(legal, tmp_path):
    assert {p.tax_scheme for p in legal.parties.values()} == {"VAT", "GST", "EIN", "JCT", "BRN",
                                                                 "USCC", "NTN"}
    for p in legal.parties.values():
        assert tax_id_problem(p.tax_scheme, p.tax_id) is None
    for name in ("parties.csv", "invoice_rules.csv"):
        shutil.copy(REPO / "fixtures" / "reference" / name, tmp_path / name)
    text = (tmp_path / "parties.csv").read_text(encoding="utf-8")
    (tmp_path / "parties.csv").write_text(text.replace("DE142314290", "DE142314291"),
                                          encoding="utf-8")
    with pytest.raises(LegalDataError, match="DE142314291"):
        LegalData.from_fixtures(tmp_path)


def test_tax_more_than_one_unit_from_base_times_rate_is_refused_before_numbering(legal):
    """The 1M-AWB DE period's bill: VAT summed per record (line rounding) to 158,922.51 EUR
    on 836,426.55 at 19 %, where base x rate is 158,921.0445 -> 158,921.04: 1.47 EUR off,
    past BR-CO-17's one unit. Building the documents refuses it (nothing is numbered); one
    cent off (within the unit) is stated as the ledger has it."""
    def rows(tax):
        return [{"agent_code": AGENT, "airline_prefix": AIRLINE, "code": "VAT_DOM",
                 "name": "VAT", "side": "airline", "rate_bp": 1900, "applies_to": "domestic",
                 "rule_version": "1", "base": 83642655, "tax": tax, "lines": 9000}]

    def bill(tax):
        b = _bill(weight_pp=83642655, tax_airline=tax)
        b["net"] = 83642655 + tax
        return b

    for tax in (15892251, 15892204, 15892004):  # 1.47 EUR off; exactly 1 EUR (CEN: < 1)
        with pytest.raises(InvoiceError, match="one EUR or more from base x rate"):
            build_documents(_ctx(), [bill(tax)], rows(tax), legal)
    (invoice,) = build_documents(_ctx(), [bill(15892105)], rows(15892105), legal)
    assert invoice.tax_total == 15892105  # 158,921.04 + 0.01: within the unit
    validate(cii_xml(invoice))
    validate(ubl_xml(invoice))
