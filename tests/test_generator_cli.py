"""Synthetic generator (determinism, shape, faults) and the generate/inspect commands."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from casslink.app.cli.main import app
from casslink.app.synthetic.generator import generate_billing
from casslink.identifiers import agent_code, awb
from casslink.parsers.hot import read_hot_file, write_hot

runner = CliRunner()


def test_same_seed_same_files_other_seed_other_files(ref):
    p = ref.period("DE", "2026-11")
    a = generate_billing(ref, "DE", p, 500, seed=5)
    b = generate_billing(ref, "DE", p, 500, seed=5)
    c = generate_billing(ref, "DE", p, 500, seed=6)
    bytes_of = lambda files: [write_hot(f.header, f.records, f.charges) for f in files]
    assert bytes_of(a) == bytes_of(b)
    assert bytes_of(a) != bytes_of(c)


def test_generated_world_is_realistic(ref):
    p = ref.period("IN", "2026-11-1")
    files = generate_billing(ref, "IN", p, 20000, seed=1)
    recs = [f.records for f in files]
    counts = sorted((int((np.asarray(r.column("record_type").to_numpy(zero_copy_only=False))
                          == "AWB").sum()) for r in recs), reverse=True)
    assert sum(counts) == 20000
    assert counts[0] > 3 * counts[-1]  # skewed volumes
    rows = [row for r in recs for row in r.to_pylist()]
    awbs = [r for r in rows if r["record_type"] == "AWB"]
    corrections = [r for r in rows if r["record_type"] != "AWB"]
    assert 0.03 < len(corrections) / 2 / len(awbs) < 0.07  # ~5 % correction pairs
    prepaid = sum(1 for r in awbs if r["weight_pp"] > 0) / len(awbs)
    assert 0.75 < prepaid < 0.85
    for r in awbs[:2000]:
        assert awb.is_valid(r["airline_prefix"] + r["awb_serial"])
        assert agent_code.is_valid(r["agent_code"]) and r["agent_code"] in ref.agents
        assert p.start_date <= r["execution_date"] <= p.end_date
        assert r["acceptance_date"] >= r["execution_date"]
        assert r["currency"] in ("INR", "USD")
        assert (r["exchange_rate_e5"] > 0) == (r["currency"] == "USD")
    assert any(r["tax_airline"] > 0 for r in awbs)  # IN has GST
    # itemised charges add up to the AWB's other-charge totals
    f = files[0]
    charges = f.charges.to_pylist()
    first = f.records.to_pylist()[0]
    mine = [c for c in charges if c["parent_type"] == "AWB"
            and c["awb_serial"] == first["awb_serial"]]
    carrier = sum(c["amount"] for c in mine if c["entitlement"] == "C")
    assert carrier == first["oc_carrier_pp"] + first["oc_carrier_cc"]


def test_faults_are_injected_and_listed(ref, tmp_path):
    result = runner.invoke(app, ["generate", "--awbs", "400", "--seed", "2", "--out",
                                 str(tmp_path), "--faults",
                                 "bad_awb_check_digit,unknown_agent,wrong_trailer_count,"
                                 "truncated_line,duplicate_awb"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    faulty = [f for f in manifest["files"] if f["faults"]]
    assert len(faulty) == 1
    kinds = [x["kind"] for x in faulty[0]["faults"]]
    assert kinds == ["bad_awb_check_digit", "unknown_agent", "wrong_trailer_count",
                     "truncated_line", "duplicate_awb"]
    batch = read_hot_file(tmp_path / faulty[0]["name"])
    bad = next(x for x in faulty[0]["faults"] if x["kind"] == "bad_awb_check_digit")["awb"]
    serials = batch.records.column("awb_serial").to_pylist()
    assert bad.split("-")[1] in serials and not awb.is_valid(bad)
    unknown = next(x for x in faulty[0]["faults"] if x["kind"] == "unknown_agent")["agent"]
    assert agent_code.is_valid(unknown) and unknown not in ref.agents
    types = batch.records.column("record_type").to_pylist()
    assert batch.trailer["awb_count"] == types.count("AWB") + 1  # off by one
    clean = [f for f in manifest["files"] if not f["faults"]]
    assert sum(f["records"].get("AWB", 0) for f in manifest["files"]) == 401  # + duplicate
    for f in clean:
        b = read_hot_file(tmp_path / f["name"])
        assert b.problems == []


def test_inspect_reports_counts_and_totals(tmp_path):
    runner.invoke(app, ["generate", "--awbs", "300", "--seed", "4", "--out", str(tmp_path),
                        "--operation", "US", "--period", "2026-06-20"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["period"] == "2026-06-2"
    f = manifest["files"][0]
    result = runner.invoke(app, ["inspect", "--json", str(tmp_path / f["name"])])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["kind"] == "billing" and report["header"]["operation"] == "US"
    assert report["header"]["period_start"] == "2026-06-16"
    assert report["record_counts"] == f["records"]
    batch = read_hot_file(tmp_path / f["name"])
    usd = [r for r in batch.records.to_pylist()
           if r["currency"] == "USD" and r["record_type"] == "AWB"]
    wt = sum(r["weight_pp"] for r in usd)
    assert report["totals"]["USD"]["AWB"]["weight_pp"] == f"{wt // 100}.{wt % 100:02d}"
    assert report["totals"]["USD"]["AWB"]["records"] == len(usd)
    human = runner.invoke(app, ["inspect", str(tmp_path / f["name"])])
    assert "billing" in human.output and "totals USD" in human.output


def test_cli_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    for cmd in ("run", "generate", "inspect", "db", "reference", "airflow", "settings"):
        assert cmd in result.output
    assert runner.invoke(app, ["reference", "check"]).exit_code == 0
