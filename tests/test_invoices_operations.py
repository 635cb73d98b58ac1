"""Every fixture operation's settled period yields valid documents (issue 26): each document
passes the Factur-X EN16931 XSD, the UBL 2.1 XSD and BR-CO-10..17, the documents move exactly
each bill's net, the issue run numbers every document, and a Japanese and a Korean PDF carry
their labels as extractable text."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from casslink.legal_parties import LegalData, tax_id_problem
from casslink.money import to_decimal
from casslink.outputs.invoices.issue import issue_period, period_documents
from casslink.outputs.invoices.layout import labels_of
from casslink.outputs.invoices.pdf import render_pdf
from casslink.outputs.invoices.validation import totals_of, validate
from casslink.outputs.invoices.xml_cii import cii_xml
from casslink.outputs.invoices.xml_ubl import ubl_xml
from casslink.reference import ReferenceData
from casslink.settlement.run import read_ledger
from tests.conftest import REPO
from tests.invoice_world import settled_root

REF_DIR = REPO / "fixtures" / "reference"
OPERATIONS = ("DE", "IN", "US", "PK", "CN", "JP", "KR", "FR")
LANGUAGE = {"FR": "fr", "JP": "ja", "KR": "ko", "CN": "zh-Hans", "PK": "en"}
# operations whose tax rules tax the agent's commission (tax_rules.csv side ``agent``): their
# invoice rules self-bill the commission (JP self-bills as well, untaxed)
AGENT_TAXED = {"DE", "IN", "CN", "FR"}


def _period(operation: str) -> str:
    ref = ReferenceData.from_fixtures(REF_DIR)
    return next(p.period_id for p in ref.periods_of(operation)
                if p.start_date.isoformat() >= "2026-11-01")


def test_every_participant_of_every_operation_has_a_legal_identity():
    ref = ReferenceData.from_fixtures(REF_DIR)
    legal = LegalData.from_fixtures(REF_DIR)
    for op in OPERATIONS:
        assert op in legal.rules, op
        airlines = [a for a in ref.airlines.values() if op in a.operations]
        agents = [g for g in ref.agents.values() if g.operation == op]
        assert airlines and agents
        for code, kind in [(a.prefix, "airline") for a in airlines] + [
                (g.code, "agent") for g in agents]:
            party = legal.party(kind, code, op)
            assert party is not None, (kind, code, op)
            assert party.country == op and tax_id_problem(party.tax_scheme, party.tax_id) is None
            if op in LANGUAGE:
                assert party.language == LANGUAGE[op]
    # the schemes of the new operations, and that a wrong check digit is refused
    assert tax_id_problem("VAT", "FR40303265045") is None  # FR key 40 + SIREN 303265045
    assert tax_id_problem("VAT", "FR41303265045") is not None
    assert tax_id_problem("BRN", "220-81-62517") is None
    assert tax_id_problem("BRN", "2208162") is not None
    assert tax_id_problem("USCC", "91110000600037341L") is None
    assert tax_id_problem("USCC", "91110000600037341M") is not None
    assert tax_id_problem("NTN", "1234567-8") is None
    assert tax_id_problem("NTN", "12345678") is not None
    assert re.fullmatch(r"T\d{13}", legal.party("agent", next(
        g.code for g in ref.agents.values() if g.operation == "JP"), "JP").tax_id)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operations_period_yields_valid_documents(tmp_path, operation):
    period = _period(operation)
    s, engine, result = settled_root(tmp_path / "var", operation=operation, period=period,
                                     awbs=150, seed=11)
    try:
        _, docs = period_documents(s, engine, operation, period)
        assert docs
        bills = read_ledger(Path(result.ledger_dir))["bills"].to_pylist()
        moved: dict[tuple[str, str], Decimal] = {}
        for doc in docs:
            for xml in (cii_xml(doc), ubl_xml(doc)):
                validate(xml)  # XSD and BR-CO-10..17
            due = totals_of(cii_xml(doc))["BT-115"]
            sign = (1 if doc.doc_type == "invoice" else -1) * doc.sign
            key = (doc.agent_code, doc.airline_prefix)
            moved[key] = moved.get(key, Decimal(0)) + sign * due
        for b in bills:  # payable, signed as the ledger, adds up to each bill's net
            assert moved.get((b["agent_code"], b["airline_prefix"]), 0) == to_decimal(
                b["net"], result.currency), (b["agent_code"], b["airline_prefix"])
        kinds = {d.type_code for d in docs}
        assert "380" in kinds
        self_billing = LegalData.from_fixtures(REF_DIR).rules[operation].self_billing
        assert ({"389", "261"} & kinds != set()) == self_billing, kinds
        assert self_billing or operation not in AGENT_TAXED
        if operation in LANGUAGE:
            assert {d.language for d in docs if d.doc_type == "invoice"} == {LANGUAGE[operation]}
        if operation in ("CN", "KR", "PK"):  # the country's own exemption wording
            assert {t.exemption_key for d in docs for t in d.taxes if t.category == "E"} == {
                f"exempt_transport_{operation.lower()}"}
        issued = issue_period(s, engine, operation, period)
        assert len(issued.issued) == len(docs) and len(set(issued.issued)) == len(docs)
        assert all(n.startswith(f"{operation}-") for n in issued.issued)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("operation", ["KR", "CN"])
def test_issuing_a_new_operations_period_on_postgres(tmp_path, pg_url, operation):
    """The new operations' documents are numbered gap-free on PostgreSQL; a second run keeps
    them all."""
    period = _period(operation)
    s, engine, _ = settled_root(tmp_path / "var", db_url=pg_url, operation=operation,
                                period=period, awbs=60, seed=3)
    try:
        first = issue_period(s, engine, operation, period)
        again = issue_period(s, engine, operation, period)
    finally:
        engine.dispose()
    series: dict[tuple[str, bool], list[int]] = {}  # (operation-issuer-year, self-billed)
    for n in first.issued:
        head, _, tail = n.rpartition("-")
        series.setdefault((head, tail.startswith("SB")), []).append(int(tail.lstrip("SB")))
    assert series and all(sorted(v) == list(range(1, len(v) + 1)) for v in series.values())
    assert any(sb for _, sb in series) == (operation == "CN")  # CN self-bills commission
    assert again.issued == [] and sorted(again.kept) == sorted(first.issued)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
@pytest.mark.parametrize("operation,label", [("JP", "請求書"), ("KR", "청구서")])
def test_japanese_and_korean_pdfs_carry_their_labels(tmp_path, operation, label):
    period = _period(operation)
    s, engine, _ = settled_root(tmp_path / "var", operation=operation, period=period,
                                awbs=40, seed=5)
    try:
        _, docs = period_documents(s, engine, operation, period)
    finally:
        engine.dispose()
    doc = next(d for d in docs if d.type_code == "380")
    path = tmp_path / "doc.pdf"
    path.write_bytes(render_pdf(doc, cii_xml(doc)))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    words = " ".join(text.split())
    assert label in words
    if operation == "KR":  # the Korean exemption wording (VAT Act art. 23)
        assert "부가가치세법 제23조" in words
    for one in labels_of(doc):
        assert " ".join(one.split()) in words, one


def test_the_cli_issues_and_delivers_a_new_operations_period(tmp_path, monkeypatch):
    """``casslink invoices issue`` no longer stops at "no legal party" for the new operations."""
    import json

    from typer.testing import CliRunner

    from casslink.app.cli.main import app

    period = _period("FR")
    home = tmp_path / "var"
    s, engine, _ = settled_root(home, operation="FR", period=period, awbs=40, seed=8)
    monkeypatch.setenv("CASSLINK_HOME", str(home))
    monkeypatch.setenv("CASSLINK_DB_URL", s.db_url)
    try:
        out = CliRunner().invoke(app, ["invoices", "issue", "--operation", "FR", "--period",
                                       period, "--json"])
    finally:
        engine.dispose()
    assert out.exit_code == 0, out.output
    issued = json.loads(out.output)
    assert issued["issued"] and issued["delivered"] > 0
    assert all(n.startswith("FR-") for n in issued["issued"])
