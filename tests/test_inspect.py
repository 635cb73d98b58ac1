"""``casslink inspect``: corrections shown per record type with their net effect (revised -
original, hand-computed here), every kind of file casslink writes recognised (files a real
settle + deliver and real ingests produced), and a non-zero exit code on any error."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from casslink.app.cli.main import app
from casslink.canonical import RECORDS_SCHEMA, FileHeader, empty_charges
from casslink.money import to_decimal
from casslink.parsers.hot import write_hot
from casslink.parsers.onerecord.writer import write_xml
from tests.conftest import reference_root
from tests.test_settlement import A1, A2, AWB1, rec

runner = CliRunner()


def inspect(path: Path) -> tuple[int, dict, str]:
    """(exit code, --json report or {}, text output)."""
    as_json = runner.invoke(app, ["inspect", "--json", str(path)])
    text = runner.invoke(app, ["inspect", str(path)])
    assert as_json.exit_code == text.exit_code
    report = json.loads(as_json.stdout) if as_json.stdout.strip() else {}
    return text.exit_code, report, text.stdout


# --- corrections ---------------------------------------------------------------------------

AWB = {**AWB1, "oc_agent_pp": 0, "oc_agent_cc": 0}  # other charges due agent: none


def correction_file(fmt: str) -> bytes:
    """LH bills A1 one AWB, corrects it by a CCA (weight moved from prepaid to collect) and
    A2 by a DCM (weight charge 507.30 -> 291.79)."""
    rows = [rec("AWB", "020", "12345675", A1, line=2, **AWB),
            rec("CCO", "020", "12345675", A1, number="CCA001", line=3, **AWB),
            rec("CCR", "020", "12345675", A1, number="CCA001", line=4,
                **{**AWB, "weight_pp": 0, "weight_cc": 100000}),
            rec("DCO", "020", "95636343", A2, number="6K0732", line=5, weight_pp=50730),
            rec("DCR", "020", "95636343", A2, number="6K0732", line=6, weight_pp=29179)]
    for row in rows[1:]:  # a correction row says P or C for each of its amounts
        row.update(dict.fromkeys(("weight_pc", "valuation_pc", "taxes_pc", "oc_agent_pc",
                                  "oc_carrier_pc"), "P"))
    rows[2]["weight_pc"] = "C"
    header = FileHeader(family="billing", record_id="ALS", operation="DE",
                        airline_prefix="020", period_start=dt.date(2026, 11, 1),
                        period_end=dt.date(2026, 11, 30), billing_date=dt.date(2026, 12, 10),
                        file_number=1, currency="EUR")
    records = pa.Table.from_pylist(rows, RECORDS_SCHEMA)
    write = write_hot if fmt == "hot" else write_xml
    return write(header, records, empty_charges())


@pytest.mark.parametrize("fmt", ["hot", "xml"])
def test_correction_file_totals_per_record_type_and_net_effect(tmp_path, fmt):
    path = tmp_path / f"LH_corrections.{fmt}"
    path.write_bytes(correction_file(fmt))
    code, report, text = inspect(path)
    assert code == 0 and report["problems"] == []
    eur = report["totals"]["EUR"]
    # the AWB by hand: 1000.00 + 50.00 + 120.00 - 50.00 (commission) + 10.00 (the discount
    # is -10.00) + 19.00 - 9.50 = 1139.50
    assert eur["AWB"] == {"weight_pp": "1000.00", "valuation_pp": "50.00",
                          "oc_carrier_pp": "120.00", "commission": "50.00",
                          "discount": "-10.00", "tax_airline": "19.00", "tax_agent": "9.50",
                          "agent_net": "1139.50", "records": 1}
    assert eur["CCO"]["agent_net"] == "1139.50" and eur["CCO"]["weight_pp"] == "1000.00"
    assert eur["CCR"]["agent_net"] == "139.50" and "weight_pp" not in eur["CCR"]
    assert eur["CCR"]["weight_cc"] == "1000.00"
    assert {k: eur["DCO"][k] for k in ("weight_pp", "agent_net", "records")} == \
        {"weight_pp": "507.30", "agent_net": "507.30", "records": 1}
    assert eur["DCR"]["agent_net"] == "291.79"
    effect = report["net_effect"]["EUR"]
    assert effect["cca"] == {"weight_pp": "-1000.00", "weight_cc": "1000.00",
                             "agent_net": "-1000.00"}
    assert effect["dcm"] == {"weight_pp": "-215.51", "agent_net": "-215.51"}
    # what the file bills: 1139.50 - 1000.00 - 215.51 = -76.01
    assert effect["net"]["agent_net"] == "-76.01"
    assert effect["net"]["weight_pp"] == "-215.51"  # 1000.00 - 1000.00 + 291.79 - 507.30
    assert "net effect EUR" in text and "-76.01" in text
    assert "CCA  weight_pp -1000.00, weight_cc 1000.00, agent_net -1000.00" in text


# --- every file casslink writes --------------------------------------------------------------

@pytest.fixture(scope="module")
def produced(tmp_path_factory, repo, ref):
    """A small period settled and delivered, and real ingests that acknowledged: the files."""
    from casslink import registry, warehouse
    from casslink.app.ingest import land_and_ingest
    from casslink.app.synthetic.generator import generate_billing
    from casslink.outputs.deliver import deliver_run
    from casslink.participants import resolve
    from casslink.settlement.run import read_ledger, settle

    work = tmp_path_factory.mktemp("inspect")
    home = work / "var"
    s, engine = reference_root(home)
    files = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 150, seed=8)
    for i, f in enumerate(files, start=1):
        file_id = registry.record_stored(engine, f"gen-{i}", f"gen-{i}.hot", "DE", "2026-11")
        warehouse.store(s, "DE", "2026-11", file_id, f.records, f.charges)
    result = settle(s, engine, "DE", "2026-11")
    delivered = deliver_run(s, engine, result.run_id, Path(result.ledger_dir))
    junk = work / "LH_junk.hot"
    junk.write_bytes(b"THIS IS NOT A CASS FILE\r\n")
    rejected = land_and_ingest(s, engine, junk, resolve(engine, "020"))
    later = generate_billing(ref, "DE", ref.period("DE", "2026-12"), 30, seed=2)[0]
    xml = work / f"{later.airline_prefix}_DE_2026-12_01.xml"
    xml.write_bytes(write_xml(later.header, later.records, later.charges))
    accepted = land_and_ingest(s, engine, xml, resolve(engine, later.airline_prefix))
    ledger = read_ledger(Path(result.ledger_dir))
    yield {"delivered": delivered, "rejected": rejected, "accepted": accepted,
           "tax": ledger["tax"].to_pylist(),
           "nets": {**dict(zip(ledger["agents"].column("agent_code").to_pylist(),
                               ledger["agents"].column("net").to_pylist(), strict=True)),
                    **dict(zip(ledger["airlines"].column("airline_prefix").to_pylist(),
                               ledger["airlines"].column("net").to_pylist(), strict=True))}}
    engine.dispose()


KINDS = {  # delivered file's ending -> (kind, description)
    "_handoff.hot": ("handoff", "airline hand-off file (hot)"),
    "_billing.hot": ("handoff", "agent HOT file (hot)"),
    "_settlement.xlsx": ("airline-statement", "airline settlement statement (xlsx)"),
    "_statement.xlsx": ("agent-statement", "agent billing statement (xlsx)"),
    "_settlement.xml": ("airline-statement", "airline settlement statement (xml)"),
    "_statement.xml": ("agent-statement", "agent billing statement (xml)"),
    "_tax-report.xlsx": ("tax-report", "tax report (xlsx)"),
    "_tax-report.csv": ("tax-report", "tax report (csv)"),
}


def test_every_delivered_output_is_recognised(produced):
    seen = set()
    for d in produced["delivered"]:
        path = Path(d["path"])
        ending = next(e for e in KINDS if path.name.endswith(e))
        if ending in seen:
            continue  # one of each kind (all are rendered alike)
        seen.add(ending)
        code, report, text = inspect(path)
        assert code == 0, text
        assert (report["kind"], report["description"]) == KINDS[ending], path.name
        assert report["problems"] == [] and KINDS[ending][1] in text
        if "tax-report" in ending:  # its total: the participant's tax in the run's tax table
            mine = [t["tax"] for t in produced["tax"] if d["participant"] in (
                "cass", t["agent_code"], t["airline_prefix"])]
            assert Decimal(report["total"]) == to_decimal(sum(mine), "EUR") and mine
            continue
        net = produced["nets"][d["participant"]]
        if ending.endswith(".xml"):
            assert report["header"]["party"] == d["participant"]
            assert Decimal(report["remittance_due"]) == to_decimal(net, "EUR")
        elif ending.endswith(".xlsx"):
            assert Decimal(report["total"]) == to_decimal(net, "EUR")
            assert d["participant"] in report["title"]
        else:
            key = "agent_code" if ending == "_billing.hot" else "airline_prefix"
            assert report["header"][key] == d["participant"]
    assert seen == set(KINDS)


def test_acknowledgements_are_recognised(produced):
    rejected, accepted = produced["rejected"], produced["accepted"]
    suffixes = {p[p.index(".ack"):] for p in rejected.acks + accepted.acks}
    assert suffixes == {".ack", ".ack.txt", ".ack.xml"}  # fixed and text (HOT), XML (XML)
    for path in map(Path, rejected.acks + accepted.acks):
        code, report, text = inspect(path)
        mine = rejected if str(path) in rejected.acks else accepted
        assert code == 0, text
        assert report["kind"] == "ack" and report["problems"] == []
        assert report["verdict"] == mine.verdict
        assert report["header"]["file_id"] == mine.file_id
        assert mine.verdict.upper().replace("_", " ") in text
    (fixed,) = (Path(p) for p in rejected.acks if p.endswith(".ack"))
    assert inspect(fixed)[1]["description"] == "acknowledgement (fixed width)"


def test_errors_exit_non_zero(produced, tmp_path):
    # a billing file with syntax errors
    junk = tmp_path / "junk.hot"
    junk.write_bytes(b"THIS IS NOT A CASS FILE\r\n")
    code, report, _ = inspect(junk)
    assert code == 1 and report["problem_count"] > 0
    # a statement whose lines no longer add up to its remittance due
    xml = next(Path(d["path"]) for d in produced["delivered"]
               if d["path"].endswith("_statement.xml"))
    text = xml.read_text()
    at = text.index("<cb:remittanceDue")
    value_at = text.index(">", at) + 1
    tampered = tmp_path / "tampered.xml"
    tampered.write_text(text[:value_at] + "1" + text[value_at:])
    code, report, out = inspect(tampered)
    assert code == 1 and "remittance due" in out
    # a fixed-width acknowledgement without its trailer
    fixed = next(Path(p) for p in produced["rejected"].acks if p.endswith(".ack"))
    cut = tmp_path / "cut.ack"
    cut.write_bytes(b"".join(fixed.read_bytes().splitlines(keepends=True)[:-1]))
    assert inspect(cut)[0] == 1
    # not a casslink file at all
    for name, data in (("x.xlsx", b"PK\x03\x04 not a zip"), ("x.bin", b"\x00\x01\x02" * 9),
                       ("x.xml", b"<a><b>")):
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(app, ["inspect", str(tmp_path / name)])
        assert result.exit_code == 1, name
