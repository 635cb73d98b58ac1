"""Tax rules as reference data: a bad file refused whole with its lines named, versions in the
rules store (SQLite and PostgreSQL), the CLI (load, list, report), ``settlement show --json``
with tax per code, the tax report in the outboxes, and the verify warning in an ack."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest

from casslink import tax_rules
from casslink.tax_rules import COLUMNS, TaxRulesError, parse_rules
from tests.test_cli_settle import cli
from tests.test_settlement import A1, A2, hand_period, store

HEADER = ",".join(COLUMNS)
GOOD = "DE,V,VAT,agent,commission,1900,all,2021-01-01,,line,compute"


def test_fixture_rules_cover_every_operation_but_us(ref):
    assert set(ref.tax_rules) == set(ref.operations) - {"US"}
    assert {r.side for r in ref.tax_rules["PK"]} == {"withheld"}
    de = {(r.code, r.rate_bp, r.valid_from.isoformat()) for r in ref.tax_rules["DE"]}
    assert ("VAT_DOM", 1600, "2020-07-01") in de and ("VAT_COM", 1900, "2021-01-01") in de


def test_a_bad_row_refuses_the_whole_file_naming_each_line():
    text = "\n".join([
        HEADER, GOOD,
        "DE,V2,VAT,buyer,commission,1900,all,2021-01-01,,line,compute",  # line 3: side
        "DE,V3,VAT,agent,commission+bogus,1900,all,2021-01-01,,line,compute",  # 4: base
        "DE,V4,VAT,agent,commission,19%,all,2021-13-01,,line,compute",  # 5: rate, date
        "DE,V,VAT,agent,commission,1600,all,2022-01-01,2022-06-30,line,compute",  # 6: overlap
        "DE,V5,VAT,agent,commission,1900,all,2021-01-01,2020-01-01,both,compute",  # 7
        "DE,W,WHT,withheld,commission,1200,all,2021-01-01,,line,accept",  # 8: withheld mode
    ]) + "\n"
    with pytest.raises(TaxRulesError) as err:
        parse_rules(text)
    lines = [e.split(":")[0] for e in err.value.errors]
    assert sorted(set(lines)) == [f"line {n}" for n in range(3, 9)]
    joined = " | ".join(err.value.errors)
    for words in ("side 'buyer'", "base 'commission+bogus'", "rate_bp '19%'",
                  "valid_from '2021-13-01'", "overlaps line 2", "valid_to 2020-01-01 is before",
                  "rounding 'both'", "mode must be compute"):
        assert words in joined, words


def test_missing_columns_unknown_operations_and_mixed_modes_are_refused():
    with pytest.raises(TaxRulesError, match=r"line 1: missing columns .*mode"):
        parse_rules(HEADER.removesuffix(",mode") + "\n")
    with pytest.raises(TaxRulesError, match="line 2: unknown operation XX"):
        parse_rules(f"{HEADER}\nXX{GOOD[2:]}\n", operations={"DE"})
    with pytest.raises(TaxRulesError, match="line 3: DE agent-side rules mix modes"):
        parse_rules(f"{HEADER}\n{GOOD}\n"
                    "DE,V2,VAT2,agent,discount,700,all,2021-01-01,,line,verify\n")


def test_store_versions_replace_only_the_named_operations(db_url):
    from casslink.db.engine import make_engine, upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        first = parse_rules(f"{HEADER}\n{GOOD}\nIN,G,GST,agent,commission,1800,all,"
                            "2017-07-01,,bill,verify\n")
        assert tax_rules.store_rules(engine, first, "a.csv") == {"DE": 1, "IN": 1}
        second = parse_rules(f"{HEADER}\n{GOOD.replace('1900', '2000')}\n")
        assert tax_rules.store_rules(engine, second, "b.csv") == {"DE": 2}
        active = tax_rules.active_rules(engine)
        assert [(r.rate_bp, r.version) for r in active["DE"]] == [(2000, 2)]
        assert [(r.code, r.rounding, r.mode, r.version) for r in active["IN"]] == [
            ("G", "bill", "verify", 1)]
    finally:
        engine.dispose()


def test_cli_load_list_and_refusal(system, tmp_path):
    good = tmp_path / "rules.csv"
    good.write_text(f"{HEADER}\n{GOOD}\n")
    out = cli("tax", "rules", "load", str(good))
    assert out.exit_code == 0 and "DE: 1 rule loaded as version 2" in out.output  # 1: fixtures
    listed = json.loads(cli("tax", "rules", "list", "--operation", "de", "--json").output)
    assert [(r["code"], r["rate_bp"], r["version"], r["valid_to"]) for r in listed] == [
        ("V", 1900, 2, "")]
    text = cli("tax", "rules", "list", "--operation", "DE").output.splitlines()
    assert text[0] == "DE: rule set version 2" and text[1].split()[:3] == ["code", "side", "base"]
    assert text[2].split() == ["V", "agent", "commission", "19.00", "all", "2021-01-01", "line",
                               "compute", "VAT"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n{GOOD}\nDE,X,VAT,agent,commission,-5,all,2021-01-01,,line,"
                   "compute\n")
    refused = cli("tax", "rules", "load", str(bad))
    assert refused.exit_code == 1 and "line 3: rate_bp '-5'" in refused.output
    assert "nothing loaded" in refused.output
    again = json.loads(cli("tax", "rules", "list", "--operation", "DE", "--json").output)
    assert again == listed  # the refused file changed nothing


def test_settled_period_tax_in_show_report_trace_and_outboxes(system):
    """The hand period of test_settlement with DE's fixture rules: VAT on commission only
    (every AWB is international). LH-A1: 50.00 commission -> 9.50 on the AWB, the CCA pair
    nets 0; AF-A1: 25.00 USD -> 4.75 USD -> 4.39 EUR; A2 has no commission."""
    s, _ = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    assert cli("settle", "--operation", "DE", "--period", "2026-11").exit_code == 0
    shown = json.loads(cli("settlement", "show", "--operation", "DE", "--period", "2026-11",
                           "--json").output)
    agents = {a["agent_code"]: a["tax"] for a in shown["agents"]}
    assert agents[A1] == {"VAT_COM": {"side": "agent", "base": 5000 + 2309,
                                      "tax": 950 + 439, "rule_version": 1}}
    assert agents[A2]["VAT_COM"]["tax"] == 0
    airlines = {a["airline_prefix"]: a for a in shown["airlines"]}
    assert airlines["057"]["tax"]["VAT_COM"]["tax"] == 439
    assert airlines["020"]["payable"] == airlines["020"]["net"] == 8550
    report = json.loads(cli("tax", "report", "--operation", "DE", "--period", "2026-11",
                            "--json").output)
    assert report["sections"]["code"] == [{"code": "VAT_COM", "name": "Umsatzsteuer auf "
                                           "Provision (VAT on commission)", "side": "agent",
                                           "rate_bp": 1900, "base": 7309, "tax": 1389,
                                           "lines": 7}]
    assert {(r["airline_prefix"], r["tax"]) for r in report["sections"]["airline"]} == {
        ("020", 950), ("057", 439)}
    text = cli("tax", "report", "--operation", "DE", "--period", "2026-11").output
    assert "VAT_COM" in text and "13.89" in text
    traced = json.loads(cli("trace", "--operation", "DE", "--period", "2026-11", "--agent", A1,
                            "--airline", "057", "--json").output)
    assert traced[0]["tax"] == {"VAT_COM": {"tax": 439, "rule_version": 1},
                                "VAT_DOM": {"tax": 0, "rule_version": 1}}
    delivered = json.loads(cli("deliver", "--operation", "DE", "--period", "2026-11",
                               "--format", "xlsx", "--json").output)
    reports = {(d["participant"], d["kind"]): Path(d["path"]) for d in delivered
               if d["kind"].startswith("tax-report")}
    assert set(reports) == {(p, k) for p in ("cass", "020", "057", A1, A2)
                            for k in ("tax-report-xlsx", "tax-report-csv")}
    rows = list(csv.DictReader(io.StringIO(reports[("057", "tax-report-csv")].read_text())))
    assert {r["airline_prefix"] for r in rows if r["section"] == "airline"} == {"057"}
    assert [(r["agent_code"], r["tax"]) for r in rows if r["section"] == "agent"] == [
        (A1, "4.39"), (A2, "0.00")]  # only its own lines
    whole = list(csv.DictReader(io.StringIO(reports[("cass", "tax-report-csv")].read_text())))
    assert [r["tax"] for r in whole if r["section"] == "code"] == ["13.89"]
    import openpyxl

    wb = openpyxl.load_workbook(reports[(A1, "tax-report-xlsx")])
    assert wb.sheetnames == ["By tax code", "By airline", "By agent"]
    assert [c.value for c in wb["By tax code"][4]][-3:] == [73.09, 13.89, 4]  # A1: 4 lines
    # the XML statement carries the tax per code and rate, and still validates
    from lxml import etree

    from casslink.parsers.onerecord.xsd import schema

    xml = json.loads(cli("deliver", "--operation", "DE", "--period", "2026-11", "--format",
                         "xml", "--json").output)
    doc = etree.parse(next(d["path"] for d in xml if d["participant"] == A1))
    assert schema().validate(doc), schema().error_log
    ns = {"cb": "https://w3id.org/casslink/ns/billing#"}
    assert [(t.findtext("cb:taxCode", namespaces=ns), t.findtext("cb:rateBasisPoints",
                                                                  namespaces=ns),
             t.findtext("cb:taxBase", namespaces=ns), t.findtext("cb:taxAmount", namespaces=ns))
            for t in doc.iterfind(".//cb:TaxAmount", ns)] == [("VAT_COM", "1900", "73.09",
                                                               "13.89")]


def test_verify_warning_in_the_files_acknowledgement(system, ref, tmp_path):
    """DE's rules switched to verify: a file whose VAT on commission is 0.50 off is accepted
    and its ack names the record, both figures and the rule; CASS bills its own figure."""
    from casslink.app.ingest import land_and_ingest
    from casslink.app.synthetic.generator import generate_billing
    from casslink.parsers.hot import write_hot
    from casslink.participants import resolve

    s, engine = system
    verify = tmp_path / "verify.csv"
    with open(verify, "w", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows(dataclasses.replace(r, mode="verify").as_row() for r in ref.tax_rules["DE"])
    assert cli("tax", "rules", "load", str(verify)).exit_code == 0
    f = max(generate_billing(ref, "DE", ref.period("DE", "2026-11"), 60, seed=3),
            key=lambda g: g.records.num_rows)
    records = f.records.to_pylist()
    i = next(k for k, r in enumerate(records) if r["record_type"] == "AWB" and r["tax_agent"])
    right = records[i]["tax_agent"]
    records[i]["tax_agent"] = right + 50
    import pyarrow as pa

    from casslink.canonical import RECORDS_SCHEMA

    path = tmp_path / "020.hot"
    path.write_bytes(write_hot(f.header, pa.Table.from_pylist(records, RECORDS_SCHEMA),
                               f.charges))
    res = land_and_ingest(s, engine, path, resolve(engine, f.airline_prefix))
    assert res.verdict == "accepted"
    text = Path(res.acks[1]).read_text(encoding="utf-8")
    assert "HOT-W701" in text and f"{right + 50}" in text and f"{right} by rule VAT_COM v2" \
        in text
    # CASS bills its own figure, and the hand-off HOT file states it in the VAT field
    from casslink.canonical import NET_TERMS
    from casslink.parsers.hot import read_hot

    assert cli("settle", "--operation", "DE", "--period", "2026-11").exit_code == 0
    delivered = json.loads(cli("deliver", "--operation", "DE", "--period", "2026-11",
                               "--format", "hot", "--json").output)
    handoff = next(Path(d["path"]) for d in delivered
                   if d["participant"] == f.airline_prefix and d["kind"] == "handoff-hot")
    back = {(r["awb_serial"], r["record_type"]): r for r in read_hot(
        handoff.read_bytes(), "back").records.to_pylist()}
    mine = back[(records[i]["awb_serial"], "AWB")]
    assert mine["tax_agent"] == right and mine["net_amount"] == sum(
        t * (mine[c] or 0) for c, t in NET_TERMS.items())
