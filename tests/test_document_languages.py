"""The participants' documents in their own language (issues 24 and 26): Excel statements and
text acknowledgements carry their labels in the participant's ``participants.language``; the
numbers, codes and layout are those of the English documents, which stay exactly as before."""

from __future__ import annotations

import hashlib
import json
import re
import types
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import update

from casslink import i18n, registry, warehouse
from casslink.app.ingest import land_and_ingest
from casslink.app.synthetic.generator import generate_billing
from casslink.db.engine import session_scope
from casslink.db.models import Participant
from casslink.outputs.deliver import _languages, deliver_run
from casslink.outputs.excel import CATALOGUE, labels
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.settlement.run import read_ledger, settle
from casslink.validators.ack import AMOUNT_COLUMNS, parse_fixed, render_text
from tests.conftest import reference_root

ENGLISH = json.loads((CATALOGUE / "en.json").read_text(encoding="utf-8"))


def _set_language(engine, code: str, language: str | None) -> None:
    with session_scope(engine) as s:
        s.execute(update(Participant).where(Participant.code == code).values(language=language))


# --- the label catalogue ---------------------------------------------------------------------

def test_english_labels_are_the_catalogue_and_others_translate_every_one():
    assert labels("en") == ENGLISH
    de, ja = labels("de"), labels("ja")
    assert de["col_net"] == "Netto ({currency})" and ja["col_net"] == "正味額 ({currency})"
    assert de["period"] == "Abrechnungszeitraum" and ja["remittance_date"] == "送金日"
    assert de["col_tax_airline"].format(currency="EUR") == "MwSt. zugunsten der " \
        "Fluggesellschaft (EUR)"
    for lang in i18n.LANGUAGES[1:]:
        translated = labels(lang)
        assert translated.keys() == ENGLISH.keys()
        untranslated = [k for k, v in translated.items() if v == ENGLISH[k]
                        and not set(v.split()) <= {"AWB", "AWBs", "Agent", "Net", "Commission",
                                                   "Destination", "Corrections", "CCA/DCM",
                                                   "({currency})"}]
        assert not untranslated, (lang, untranslated)
        for key, text in translated.items():  # the placeholders survive translation
            assert sorted(re.findall(r"\{\w+\}", text)) == \
                sorted(re.findall(r"\{\w+\}", ENGLISH[key])), (lang, key)


def test_the_statements_template_is_current(repo):
    import subprocess

    done = subprocess.run([str(repo / "scripts" / "extract-statement-labels"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout


# --- Excel statements ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_deliveries(tmp_path_factory, ref):
    """One settled period delivered twice: everyone in English, then with an agent in
    Japanese, an agent and an airline in German and an agent with an unknown language."""
    home = tmp_path_factory.mktemp("lang") / "var"
    s, engine = reference_root(home)
    files = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 300, seed=11)
    for i, f in enumerate(files, start=1):
        sha = hashlib.sha256(f"lang-{i}".encode()).hexdigest()
        file_id = registry.record_stored(engine, sha, f"DE_2026-11_billing_{i}.hot", "DE",
                                         "2026-11")
        recs = f.records.set_column(f.records.schema.get_field_index("source_file"),
                                    "source_file", pa.array([sha] * f.records.num_rows))
        warehouse.store(s, "DE", "2026-11", file_id, recs, f.charges)
    result = settle(s, engine, "DE", "2026-11")
    folder = Path(result.ledger_dir)

    def delivered() -> dict[str, bytes]:
        out = deliver_run(s, engine, result.run_id, folder, formats=("xlsx",))
        return {d["participant"]: Path(d["path"]).read_bytes() for d in out
                if not d["kind"].startswith("tax-report")}  # the statements

    english = delivered()
    bills = read_ledger(folder)["bills"]
    agents = sorted(set(bills.column("agent_code").to_pylist()))
    airlines = sorted(set(bills.column("airline_prefix").to_pylist()))
    chosen = {agents[0]: "ja", agents[1]: "de", airlines[0]: "de", agents[2]: "xx"}
    for code, language in chosen.items():
        _set_language(engine, code, language)
    yield {"english": english, "local": delivered(), "chosen": chosen, "agents": agents,
           "airlines": airlines, "bills": bills, "engine": engine, "tmp": home}
    engine.dispose()


def _book(data: bytes, tmp: Path, name: str) -> openpyxl.Workbook:
    path = tmp / name
    path.write_bytes(data)
    return openpyxl.load_workbook(path)


def _compare(en: openpyxl.Workbook, local: openpyxl.Workbook, language: str) -> int:
    """Every cell of ``local`` against ``en``: the same numbers and number formats in the same
    cells, text the same except labels, which are the language's; returns the numbers seen."""
    assert len(en.sheetnames) == len(local.sheetnames)
    numbers = 0
    for ws_en, ws in zip(en.worksheets, local.worksheets, strict=True):
        assert ws.max_row == ws_en.max_row and ws.max_column == ws_en.max_column
        assert ws.freeze_panes == ws_en.freeze_panes
        for row_en, row in zip(ws_en.iter_rows(), ws.iter_rows(), strict=True):
            for a, b in zip(row_en, row, strict=True):
                if isinstance(a.value, str) and a.value != b.value:
                    assert b.value == i18n.gettext(language, "statements", _source(a.value)) \
                        .format(currency="EUR", code=_code(a.value), name=_name(a.value)), \
                        (a.coordinate, a.value, b.value)
                    assert b.value != a.value
                else:
                    assert a.value == b.value, (ws.title, a.coordinate)
                    assert a.number_format == b.number_format
                    numbers += isinstance(a.value, (int, float))
    return numbers


def _source(english: str) -> str:
    """The message id an English label was made from (its placeholders filled in)."""
    for text in ENGLISH.values():
        if "{code}" in text:
            if english.startswith(text.split("{code}")[0]):
                return text
        elif english == text.format(currency="EUR"):
            return text
    raise AssertionError(f"not a label: {english!r}")


def _code(title: str) -> str:
    return title.split(" - ")[-1].split()[1] if " - " in title else ""


def _name(title: str) -> str:
    return " ".join(title.split(" - ")[-1].split()[2:]) if " - " in title else ""


def test_a_japanese_agents_statement_has_japanese_labels_and_the_same_numbers(two_deliveries):
    d = two_deliveries
    code = d["agents"][0]
    en = _book(d["english"][code], d["tmp"], "en.xlsx")
    ja = _book(d["local"][code], d["tmp"], "ja.xlsx")
    summary = ja.worksheets[0]
    assert ja.sheetnames[0] == "サマリー" and ja.sheetnames[1:] == en.sheetnames[1:]
    name = en.worksheets[0]["A1"].value.split(f"agent {code} ")[1]
    assert summary["A1"].value == f"CASS 請求明細書 - 代理店 {code} {name}"
    assert [summary[f"A{r}"].value for r in range(2, 7)] == [
        "CASSオペレーション", "請求期間", "請求日", "送金日", "決済通貨"]
    assert [summary[f"C{r}"].value for r in range(2, 7)] == \
        [en.worksheets[0][f"C{r}"].value for r in range(2, 7)]
    head = [c.value for c in summary[8]]
    assert head[:5] == ["航空会社", "航空会社名", "AWB件数", "CCA件数", "DCM件数"]
    assert head[5] == "重量運賃 PP (EUR)" and head[-1] == "正味額 (EUR)"
    total = [r for r in summary.iter_rows(values_only=True) if r[0] in (
        "CASSへの送金額合計", "CASSから代理店への支払額合計")]
    assert len(total) == 1
    detail = ja.worksheets[1]
    assert [c.value for c in detail[8]][:4] == ["代理店", "AWB番号", "レコード種別",
                                                "CCA/DCM番号"]
    assert _compare(en, ja, "ja") > 0


def _display_width(text: str) -> int:
    """Character columns of ``text``: East-Asian wide and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _header_widths(book: openpyxl.Workbook, header_row: int) -> list[tuple[str, float]]:
    """(header, column width) of every header cell of every sheet."""
    from openpyxl.utils import get_column_letter

    return [(c.value, ws.column_dimensions[get_column_letter(c.column)].width)
            for ws in book.worksheets for c in ws[header_row] if c.value]


def test_japanese_headers_fit_their_columns(two_deliveries):
    """A ja statement's columns are as wide as each header's words in character columns (a
    kana or kanji counts two): ``レコード種別`` (12 columns) no longer wraps in the layout's 7;
    the English statement keeps the layout's widths."""
    from casslink.outputs.layouts import DETAIL, HEADER_ROW

    d = two_deliveries
    code = d["agents"][0]
    ja = _header_widths(_book(d["local"][code], d["tmp"], "ja.xlsx"), HEADER_ROW)
    en = _header_widths(_book(d["english"][code], d["tmp"], "en.xlsx"), HEADER_ROW)
    assert len(ja) == len(en) > len(DETAIL)
    for header, width in ja:
        for word in header.split():
            assert width >= _display_width(word), (header, width)
        if " " not in header:
            assert width >= _display_width(header), (header, width)
    assert dict(ja)["レコード種別"] == 12 and dict(ja)["ファイルID"] == 10
    assert dict(ja)["運送人収受のその他料金 PP (EUR)"] == 22
    assert [w for _, w in en[-len(DETAIL):]] == [c.width for c in DETAIL]  # unchanged


def test_a_german_agents_and_airlines_statements_have_german_labels(two_deliveries):
    d = two_deliveries
    agent, airline = d["agents"][1], d["airlines"][0]
    en = _book(d["english"][agent], d["tmp"], "en-agent.xlsx")
    de = _book(d["local"][agent], d["tmp"], "de-agent.xlsx")
    assert de.sheetnames[0] == "Übersicht"
    assert de.worksheets[0]["A3"].value == "Abrechnungszeitraum"
    assert de.worksheets[0]["A1"].value.startswith(f"CASS-Rechnungsaufstellung - Agent {agent}")
    assert _compare(en, de, "de") > 0
    en = _book(d["english"][airline], d["tmp"], "en-airline.xlsx")
    de = _book(d["local"][airline], d["tmp"], "de-airline.xlsx")
    assert de.sheetnames == ["Übersicht", "Einzelnachweis"]
    head = [c.value for c in de.worksheets[0][8]]
    assert head[:2] == ["Agent", "Name des Agenten"] and head[-1] == "Netto (EUR)"
    assert "Gesamte Abrechnung an die Fluggesellschaft" in \
        [r[0] for r in de.worksheets[0].iter_rows(values_only=True)]
    assert _compare(en, de, "de") > 0
    # the numbers are the ledger's: the summary's net column adds up to the airline's bills
    bills = d["bills"].filter(pc.equal(d["bills"].column("airline_prefix"), airline))
    net = head.index("Netto (EUR)")
    body = [r for r in de.worksheets[0].iter_rows(min_row=9, values_only=True)
            if r[0] and str(r[0]).isdigit()]
    assert len(body) == bills.num_rows
    assert sum(round(r[net] * 100) for r in body) == pc.sum(bills.column("net")).as_py()


def test_participants_without_a_language_get_the_english_bytes(two_deliveries):
    d = two_deliveries
    local = {c for c, lang in d["chosen"].items() if lang in ("ja", "de")}
    assert d["english"].keys() == d["local"].keys()
    for code, data in d["english"].items():
        if code in local:
            assert d["local"][code] != data
        else:  # no language, or one casslink does not know ("xx"): English as before
            assert d["local"][code] == data, code


def test_document_languages_come_from_the_participants(system):
    _, engine = system
    with session_scope(engine) as s:
        codes = [c for (c,) in s.query(Participant.code).order_by(Participant.id).limit(4)]
    for code, language in zip(codes, ["ko", "en", "xx", None], strict=True):
        _set_language(engine, code, language)
    assert _languages(engine) == {codes[0]: "ko"}


# --- acknowledgements ------------------------------------------------------------------------

def test_an_ack_comes_in_the_senders_language(system, ref, tmp_path):
    settings_, engine = system
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 40, seed=9)
    korean, english = gen[0], gen[1]
    assert korean.airline_prefix != english.airline_prefix
    _set_language(engine, korean.airline_prefix, "ko")
    texts = {}
    for f in (korean, english):
        path = tmp_path / f"DE_2026-11_{f.airline_prefix}.hot"
        path.write_bytes(write_hot(f.header, f.records, f.charges))
        res = land_and_ingest(settings_, engine, path, resolve(engine, f.airline_prefix))
        fixed, text = (Path(a) for a in res.acks)
        assert parse_fixed(fixed.read_bytes())["header"]["verdict"] == "accepted"  # codes stay
        texts[f.airline_prefix] = text.read_text(encoding="utf-8").splitlines()
    ko, en = texts[korean.airline_prefix], texts[english.airline_prefix]
    n = korean.records.num_rows
    assert ko[0] == "CASSLINK 수신 확인서" and ko[1] == "=" * 20  # Hangul is two columns wide
    assert ko[2].startswith("파일" + " " * 10) and ko[2].endswith("바이트)")
    assert ko[3].startswith("SHA-256       ") and en[3].startswith("SHA-256       ")
    assert "판정" + " " * 10 + "수락됨" in ko
    assert "레코드" + " " * 8 + f"수신 {n}건, 수락 {n}건, 거부 0건" in ko
    assert "문제" + " " * 10 + "오류 0건, 경고 0건" in ko
    assert "발견된 문제가 없습니다." in ko
    assert en[0] == "CASSLINK ACKNOWLEDGEMENT" and "VERDICT       ACCEPTED" in en
    m = english.records.num_rows
    assert f"Records       {m} received, {m} accepted, 0 rejected" in en


def _verdict(verdict: str, findings: list) -> types.SimpleNamespace:
    records = pa.table({"currency": ["EUR", "EUR"], "source_line": [2, 3],
                        **{c: [1000, 250] if c == AMOUNT_COLUMNS[0] else [0, 0]
                           for c in AMOUNT_COLUMNS}})
    return types.SimpleNamespace(
        verdict=verdict, counts={"records": 3, "accepted": 2, "rejected": 1, "errors": 1,
                                 "warnings": 0},
        findings=findings, accepted_records=records)


class _Finding:
    def __init__(self, **values) -> None:
        self.values = values

    def as_dict(self) -> dict:
        return dict(self.values)


def test_a_french_ack_translates_labels_and_keeps_codes_values_and_messages():
    finding = _Finding(line=3, code="VAL-E123", severity="record", field="awb_serial",
                       raw="12345", message="AWB check digit is wrong")
    info = {"name": "f.hot", "file_id": 12, "size": 999, "sha256": "ab" * 32,
            "received": "2026-12-01 10:00:00 UTC", "channel": "sandbox",
            "sender": "airline 020 Lufthansa", "family": "billing", "operation": "DE",
            "period": "2026-10", "late": True, "billed_period": "2026-11"}
    v = _verdict("accepted_with_rejections", [finding])
    en = render_text(info, v).decode().splitlines()
    fr = render_text(info, v, "fr").decode().splitlines()
    assert len(fr) == len(en)
    assert fr[:2] == ["ACCUSÉ DE RÉCEPTION CASSLINK", "=" * 28]
    assert fr[2] == "Fichier       f.hot  (id 12, 999 octets)"
    assert fr[4] == ("Reçu le       2026-12-01 10:00:00 UTC   canal : sandbox "
                     "(validation seule : rien n'est facturé)")
    assert fr[5] == "Expéditeur    airline 020 Lufthansa"
    assert fr[6] == "Type          billing   opération DE   période 2026-10"
    assert fr[8] == "RÉSULTAT      ACCEPTÉ AVEC ENREGISTREMENTS REJETÉS"
    assert fr[9] == ("              EN RETARD - la période 2026-10 est clôturée ; ces "
                     "enregistrements sont facturés sur la période 2026-11")
    assert fr[10] == "Facturé sur   période 2026-11 (EN RETARD)"
    assert fr[12] == "Enregistrements 3 reçus, 2 acceptés, 1 rejetés"
    assert "  EUR  12.50   (2 enregistrements)" in fr
    finding_line = "        3  VAL-E123  record   awb_serial  \"12345\"  AWB check digit is wrong"
    assert finding_line in fr and finding_line in en  # codes, values, message: as in English
    assert fr[1:2] != en[1:2] and en[0] == "CASSLINK ACKNOWLEDGEMENT"


def test_the_printed_footer_follows_the_language(two_deliveries):
    d = two_deliveries
    code = d["agents"][0]
    for data, expected in ((d["english"][code], "Page &P of &N"),
                           (d["local"][code], "&P / &N ページ")):
        book = _book(data, d["tmp"], "footer.xlsx")
        for ws in book.worksheets:  # the sheet's name on the left, the page on the right
            assert ws.oddFooter.left.text == "&A" and ws.oddFooter.right.text == expected


def test_libreoffice_prints_a_japanese_statement(two_deliveries, tmp_path):
    """A person's view: LibreOffice prints the Japanese agent's statement with its Japanese
    title, labels and "N / M ページ" on every page."""
    import os
    import shutil
    import subprocess

    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    if soffice is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("LibreOffice or poppler-utils missing under CI=true")
        pytest.skip("LibreOffice or poppler-utils not installed (CI installs them)")
    d = two_deliveries
    src = tmp_path / "ja.xlsx"
    src.write_bytes(d["local"][d["agents"][0]])
    out = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                         capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "ja.pdf"
    assert out.returncode == 0 and pdf.exists(), out.stdout + out.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert pages
    for n, page in enumerate(pages, start=1):
        assert f"{n} / {len(pages)} ページ" in page, page[-300:]
    assert "CASS 請求明細書" in pages[0] and "決済通貨" in pages[0] and "送金日" in pages[0]


def test_the_tax_report_workbook_speaks_the_participants_language(tmp_path):
    """The tax report's Excel labels come from the same statements catalog: Japanese headers
    and title for a ja participant, the same numbers as the English workbook."""
    import datetime as dt

    from casslink.outputs import tax_report

    row = {"code": "VAT", "name": "Umsatzsteuer", "side": "airline", "rate_bp": 1900,
           "base": 100000, "tax": 19000, "lines": 3, "airline_prefix": "020",
           "agent_code": "23156130152"}
    data = {"operation": "DE", "period": "2026-11", "participant": "23156130152",
            "currency": "EUR", "sections": {"code": [row], "airline": [row], "agent": [row]}}
    books = {}
    for language in ("en", "ja"):
        path = tmp_path / f"{language}.xlsx"
        path.write_bytes(tax_report.render_xlsx(data, dt.date(2026, 12, 10), language))
        books[language] = openpyxl.load_workbook(path)
    ja, en = books["ja"], books["en"]
    assert ja.sheetnames == ["税コード別", "航空会社別", "代理店別"]
    sheet = ja["税コード別"]
    assert sheet["A1"].value == "税務レポート DE 2026-11 - 税コード別（23156130152、EUR）"
    assert [c.value for c in sheet[3]] == ["税コード", "税目", "負担側", "税率 %", "課税標準",
                                           "税額", "明細数"]
    assert [c.value for c in en["By tax code"][3]] == ["Tax code", "Tax", "Side", "Rate %",
                                                       "Base", "Tax amount", "Lines"]
    assert [c.value for c in sheet[4]] == [c.value for c in en["By tax code"][4]]
    for header, width in _header_widths(ja, 3):  # headers fit their columns here too
        assert width >= _display_width(header), (header, width)
    assert sheet["E4"].value == 1000 and sheet["F4"].value == 190
