"""Outputs of a settled period cross-checked against the ledger, to the minor unit: airline
hand-off HOT and agent HOT read back with our reader, Excel read back with openpyxl;
idempotent delivery, per-participant formats, and a LibreOffice render."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from openpyxl.utils import get_column_letter

from casslink import registry, warehouse
from casslink.app.synthetic.generator import generate_billing
from casslink.db.engine import session_scope
from casslink.db.models import Delivery, LandedFile, Participant
from casslink.outputs import hot_files
from casslink.outputs.deliver import deliver_run
from casslink.outputs.layouts import DETAIL
from casslink.outputs.source import load_run
from casslink.parsers.hot import read_hot
from casslink.reference import load_reference
from casslink.settlement.ledger import ledger_lines
from casslink.settlement.run import read_ledger, settle
from tests.conftest import reference_root


@pytest.fixture(scope="module")
def settled(tmp_path_factory, repo, ref):
    home = tmp_path_factory.mktemp("out") / "var"
    s, engine = reference_root(home)
    files = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 800, seed=4)
    for i, f in enumerate(files, start=1):
        sha = hashlib.sha256(f"gen-{i}".encode()).hexdigest()  # as ingest: the file's sha256
        file_id = registry.record_stored(engine, sha, f"DE_2026-11_billing_{i}.hot", "DE",
                                         "2026-11")
        recs = f.records.set_column(f.records.schema.get_field_index("source_line"),
                                    "source_line",
                                    pa.array(range(2, f.records.num_rows + 2), pa.int32()))
        recs = recs.set_column(recs.schema.get_field_index("source_file"), "source_file",
                               pa.array([sha] * recs.num_rows))
        warehouse.store(s, "DE", "2026-11", file_id, recs, f.charges)
    result = settle(s, engine, "DE", "2026-11")
    delivered = deliver_run(s, engine, result.run_id, Path(result.ledger_dir))
    yield {"settings": s, "engine": engine, "result": result, "delivered": delivered,
           "ledger": read_ledger(Path(result.ledger_dir))}
    engine.dispose()


def _net_by(table: pa.Table, key: str) -> dict[str, int]:
    g = table.group_by(key).aggregate([("net", "sum")])
    return dict(zip(g.column(key).to_pylist(), g.column("net_sum").to_pylist(), strict=True))


def _file(settled, code: str, suffix: str) -> Path:
    home = settled["settings"].homes_dir / code / "outbox"
    (path,) = [p for p in home.iterdir() if p.name.endswith(suffix)]
    return path


def test_every_active_participant_receives_its_files(settled):
    bills = settled["ledger"]["bills"]
    airlines = set(bills.column("airline_prefix").to_pylist())
    agents = set(bills.column("agent_code").to_pylist())
    got = {(d["participant"], d["kind"]) for d in settled["delivered"]}
    assert got == {(a, k) for a in airlines
                   for k in ("handoff-hot", "settlement-xlsx", "settlement-xml")} | \
        {(a, k) for a in agents for k in ("billing-hot", "statement-xlsx", "statement-xml")} | \
        {(p, k) for p in airlines | agents | {"cass"}  # the tax report, with the Excel files
         for k in ("tax-report-xlsx", "tax-report-csv")}
    with session_scope(settled["engine"]) as s:
        assert s.query(Delivery).count() == len(got)


def test_handoff_files_read_back_to_the_ledger(settled):
    ledger = settled["ledger"]
    want = _net_by(ledger["airlines"], "airline_prefix")
    for prefix, expected in want.items():
        batch = read_hot(_file(settled, prefix, "_handoff.hot").read_bytes(), "back")
        assert batch.problems == [] and batch.header.family == "handoff"
        assert batch.header.airline_prefix == prefix
        lines = ledger_lines(batch.records, "DE", "2026-11", "EUR")
        assert int(pc.sum(lines.column("net")).as_py()) == expected, prefix
        mine = ledger["lines"].filter(pc.equal(ledger["lines"].column("airline_prefix"),
                                               prefix))
        assert batch.records.num_rows == mine.num_rows
        assert sorted(batch.records.column("awb_serial").to_pylist()) == \
            sorted(mine.column("awb_serial").to_pylist())
        awb = batch.records.filter(pc.equal(batch.records.column("record_type"), "AWB"))
        for r in awb.to_pylist()[:50]:  # AWM 170-182: net in the AWB's own currency
            assert r["net_amount"] == (r["weight_pp"] + r["valuation_pp"] + r["oc_carrier_pp"]
                                       - r["oc_agent_cc"] - r["commission"] - r["discount"]
                                       + r["tax_airline"] - r["tax_agent"])


def test_agent_hot_files_read_back_to_the_remittances(settled):
    for code, expected in _net_by(settled["ledger"]["agents"], "agent_code").items():
        batch = read_hot(_file(settled, code, "_billing.hot").read_bytes(), "back")
        assert batch.problems == [] and batch.header.agent_code == code
        lines = ledger_lines(batch.records, "DE", "2026-11", "EUR")
        assert int(pc.sum(lines.column("net")).as_py()) == expected, code


def _at(source: str) -> int:
    """Where the detail layout puts the column showing ``source`` (from 0)."""
    return [c.source for c in DETAIL].index(source)


def _minor(value, digits: int = 2) -> int:
    return int(Decimal(str(value)).scaleb(digits))


def test_one_pass_hot_files_equal_the_per_participant_ones(settled):
    s = settled["settings"]
    run = load_run(s, Path(settled["result"].ledger_dir), load_reference(s))
    airlines, agents = hot_files.hot_all(run, ("airline_prefix", "agent_code"))
    assert sorted(agents) == sorted(settled["ledger"]["agents"].column("agent_code")
                                    .to_pylist())
    for code, data in agents.items():
        assert data == hot_files.agent_hot(run, code)
    assert sorted(airlines) == sorted(settled["ledger"]["airlines"].column("airline_prefix")
                                      .to_pylist())
    for prefix, data in airlines.items():
        assert data == hot_files.airline_handoff(run, prefix)
    assert hot_files.hot_all(run, ("agent_code",)) == [agents]  # one split alone: same files


def _sorted_by(records: pa.Table, key: str) -> list[int]:
    """Python's stable sort of the records by ``key``, then the rest of the hand-off order
    (nulls first)."""
    full = (key, *(k for k in hot_files.ORDER if k != key))
    columns = [records.column(k).to_pylist() for k in full]
    return sorted(range(records.num_rows), key=lambda i: tuple(
        (c[i] is not None, c[i] if c[i] is not None else 0) for c in columns))


def test_split_orders_equal_a_sort_by_every_key(settled):
    s = settled["settings"]
    records = load_run(s, Path(settled["result"].ledger_dir), load_reference(s)).records
    records = pa.concat_tables([records, records.slice(0, 40)])  # ties kept in table order
    wants = {key: _sorted_by(records, key) for key in ("airline_prefix", "agent_code")}
    for keys in (("airline_prefix", "agent_code"), ("agent_code", "airline_prefix")):
        got = hot_files._split_orders(records, keys)  # the second refines the first
        for key, order in zip(keys, got, strict=True):
            assert list(order) == wants[key]


def test_hand_off_order_is_the_ledgers_and_equals_a_sort(settled, monkeypatch):
    """The records' hand-off order is read off the ledger's lines (their input rows): the
    order sorting gives, and the same files; a ledger that does not match is refused."""
    s = settled["settings"]
    run = load_run(s, Path(settled["result"].ledger_dir), load_reference(s))
    known = hot_files._ledger_order(run, run.records.num_rows)
    assert list(known) == _sorted_by(run.records, "airline_prefix")
    from_ledger = hot_files.hot_all(run)
    monkeypatch.setattr(hot_files, "_ledger_order", lambda run, n: None)  # an older ledger
    assert hot_files.hot_all(run) == from_ledger
    monkeypatch.undo()
    with pytest.raises(ValueError, match="not the run's input records"):
        hot_files._ledger_order(run, run.records.num_rows + 1)
    lines = run.ledger_columns("lines", {"input_row"})
    doubled = np.asarray(lines.column("input_row")).copy()
    doubled[1] = doubled[0]  # not a permutation
    monkeypatch.setattr(run, "ledger_columns", lambda name, columns: pa.table(
        {"input_row": doubled}))
    with pytest.raises(ValueError, match="not the run's input records"):
        hot_files._ledger_order(run, run.records.num_rows)


def test_excel_statements_read_back_to_the_ledger(settled):
    ledger = settled["ledger"]
    agents = _net_by(ledger["agents"], "agent_code")
    for code, expected in agents.items():
        wb = openpyxl.load_workbook(_file(settled, code, "_statement.xlsx"), read_only=True)
        rows = list(wb["Summary"].iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if r and r[0] == "Airline")
        net_col = rows[head].index("Net (EUR)")
        body = [r for r in rows[head + 1:] if r and r[0] and str(r[0]).isdigit()]
        bills = ledger["bills"].filter(pc.equal(ledger["bills"].column("agent_code"), code))
        assert len(body) == bills.num_rows
        assert sum(_minor(r[net_col]) for r in body) == expected
        total_row = next(r for r in rows if r and r[0] and str(r[0]).startswith("Total"))
        assert _minor([v for v in total_row if isinstance(v, (int, float))][-1]) == expected
        detail_rows = sum(len([r for r in list(wb[name].iter_rows(values_only=True))
                               if len(r) > 1 and r[1] and "-" in str(r[1]) and str(r[0]).isdigit()])
                          for name in wb.sheetnames[1:])
        lines = ledger["lines"].filter(pc.equal(ledger["lines"].column("agent_code"), code))
        assert detail_rows == lines.num_rows
        wb.close()
    for prefix, expected in _net_by(ledger["airlines"], "airline_prefix").items():
        wb = openpyxl.load_workbook(_file(settled, prefix, "_settlement.xlsx"), read_only=True)
        rows = list(wb["Summary"].iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if r and r[0] == "Agent")
        net_col = rows[head].index("Net (EUR)")
        body = [r for r in rows[head + 1:] if r and r[0] and str(r[0]).isdigit()]
        assert sum(_minor(r[net_col]) for r in body) == expected
        wb.close()


def test_excel_layout_and_every_detail_line(settled):
    """Title block, frozen header, autofilter, number formats, styles and printing as read by
    openpyxl; each detail row carries its ledger line's values, in ledger order: amounts
    headed with the settlement currency, the record's own currency and net beside them, the
    input file by its name and registry id."""
    ledger = settled["ledger"]
    agent = max(ledger["agents"].to_pylist(), key=lambda a: a["counterparties"])["agent_code"]
    wb = openpyxl.load_workbook(_file(settled, agent, "_statement.xlsx"))
    lines = ledger["lines"].filter(pc.equal(ledger["lines"].column("agent_code"), agent))
    prefixes = sorted(set(lines.column("airline_prefix").to_pylist()))
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) == 1 + len(prefixes)
    assert [n.split(" ")[0] for n in wb.sheetnames[1:]] == prefixes
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A9"
        assert ws["A2"].value == "Operation" and ws["C2"].value == "DE" and ws["A2"].font.b
        assert ws["A1"].font.sz == 14 and ws["A8"].font.b and ws["A8"].alignment.wrap_text
        assert ws["A8"].fill.fgColor.rgb == "FFDDE4EE"
        note = next((r for r in range(1, ws.max_row + 1) if str(
            ws.cell(r, 1).value).startswith("Corrections show")), None)  # the sign note
        last = note - 3 if ws.title == "Summary" else ws.max_row  # the total, the sign note
        columns = 16 if ws.title == "Summary" else 19
        assert ws.auto_filter.ref == f"A8:{get_column_letter(columns)}{last}"
        # printed: A3 landscape at 100 %, the header row on every page, page numbers
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 8
        assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$8:$8"
        assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
    summary = [c.value for c in wb["Summary"][8]]
    assert summary[:5] == ["Airline", "Airline name", "AWBs", "CCA records", "DCM records"]
    assert summary[5:] == ["Weight charge PP (EUR)", "Valuation PP (EUR)",
                           "Other charges due carrier PP (EUR)",
                           "Other charges due agent CC (EUR)", "Commission (EUR)",
                           "Discount (EUR)", "VAT due airline (EUR)", "VAT due agent (EUR)",
                           "Net billing (EUR)", "Corrections CCA/DCM (EUR)", "Net (EUR)"]
    head = [c.value for c in wb[wb.sheetnames[1]][8]]
    assert head == ["Agent", "AWB", "Record", "CCA/DCM no.", "Original currency",
                    "Original net", "Rate of exchange", *summary[5:13], "Net (EUR)",
                    "Source file", "File id", "Line"]
    note = next(r for r in range(1, wb["Summary"].max_row + 1) if str(
        wb["Summary"].cell(r, 1).value).startswith("Corrections show"))
    total = [c for c in wb["Summary"][note - 1] if c.value is not None]
    assert total[-1].column_letter == "P"  # the total stands under the net
    # the tax block under it: the agent's tax per code and rate, as the run's tax table says
    block = [[c.value for c in row if c.value is not None]
             for row in wb["Summary"].iter_rows(min_row=note + 2)]
    assert block[0] == ["Tax per code and rate (settlement currency)"]
    assert block[1] == ["Tax code", "Tax", "Side", "Rate %", "Base", "Tax amount"]
    mine = [t for t in ledger["tax"].to_pylist() if t["agent_code"] == agent]
    assert [(r[0], r[3]) for r in block[2:]] == [("VAT_COM", 19.0)]
    assert _minor(block[2][5]) == sum(t["tax"] for t in mine) and _minor(block[2][4]) == sum(
        t["base"] for t in mine)
    files = _input_files(settled)
    originals = _original_nets(settled)
    currencies = set()
    for prefix, name in zip(prefixes, wb.sheetnames[1:], strict=True):
        ws = wb[name]
        mine = lines.filter(pc.equal(lines.column("airline_prefix"), prefix)).to_pylist()
        rows = list(ws.iter_rows(min_row=9))
        assert len(rows) == len(mine)
        for row, line in zip(rows, mine, strict=True):
            cells = {c.column_letter: c for c in row}
            assert cells["A"].value == agent  # the same detail rows as the airline's
            assert cells["B"].value == f"{prefix}-{line['awb_serial']}"
            assert cells["C"].value == line["record_type"]
            assert cells["D"].value == (line["correction_number"] or None)
            assert cells["E"].value == line["currency"]
            currencies.add(line["currency"])
            original, digits, taxes = originals[(line["source_file"], line["source_line"])]
            billed = original + line["sign"] * (  # the file's net with CASS's tax in the
                (line["cass_tax_airline"] - taxes[0]) - (line["cass_tax_agent"] - taxes[1]))
            assert _minor(cells["F"].value, digits) == billed  # record's currency (per bill)
            body = "#,##0" + ("." + "0" * digits if digits else "")
            assert cells["F"].number_format == f"{body};[Red]-{body}"
            if line["currency"] == "EUR":
                assert billed == line["net"]
            assert _minor(cells["P"].value) == line["net"] and cells["P"].font.b
            assert _minor(cells["H"].value) == line["weight_pp"]
            assert cells["H"].number_format == "#,##0.00;[Red]-#,##0.00"
            name_, file_id = files[line["source_file"]]
            assert (cells["Q"].value, cells["R"].value, cells["S"].value) == \
                (name_, file_id, line["source_line"])
            rate = line["exchange_rate_e5"]
            assert cells["G"].value == (None if not rate else float(Decimal(rate).scaleb(-5)))
    assert len(currencies) > 1  # the generated period has foreign-currency records
    wb.close()
    prefix = prefixes[0]  # the airline's detail: every line of the airline, in ledger order
    wb = openpyxl.load_workbook(_file(settled, prefix, "_settlement.xlsx"), read_only=True)
    mine = ledger["lines"].filter(pc.equal(ledger["lines"].column("airline_prefix"), prefix))
    rows = list(wb["Detail"].iter_rows(min_row=9, values_only=True))
    assert [(r[0], r[1], _minor(r[15])) for r in rows] == \
        [(x["agent_code"], f"{prefix}-{x['awb_serial']}", x["net"]) for x in mine.to_pylist()]
    wb.close()


def _input_files(settled) -> dict[str, tuple[str, int]]:
    """sha256 -> (original name, file id) of every registered file."""
    with session_scope(settled["engine"]) as ss:
        return {f.sha256: (f.original_name, f.id) for f in ss.query(LandedFile).all()}


def _original_nets(settled) -> dict[tuple[str, int], tuple[int, int, tuple[int, int]]]:
    """(source file, line) -> the record's agent net in its own currency, signed as its
    ledger line (originals of corrections negative), that currency's decimals, and the
    file's own tax_airline and tax_agent (unsigned)."""
    terms = {"weight_pp": 1, "valuation_pp": 1, "oc_carrier_pp": 1, "oc_agent_cc": -1,
             "commission": -1, "discount": -1, "tax_airline": 1, "tax_agent": -1}
    decimals = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KWD": 3, "BHD": 3}
    out = {}
    for r in warehouse.read(settled["settings"], "DE", "2026-11").to_pylist():
        sign = -1 if r["record_type"] in ("CCO", "DCO") else 1
        net = sum(t * (r[c] or 0) for c, t in terms.items())
        out[(r["source_file"], r["source_line"])] = (
            sign * net, decimals[r["currency"]],
            (r["tax_airline"] or 0, r["tax_agent"] or 0))
    return out


def test_excel_reports_do_not_depend_on_batching(settled, monkeypatch):
    """One workbook alone, all together, or rendered in chunks of a few lines: same bytes."""
    from casslink.outputs import excel

    run = load_run(settled["settings"], Path(settled["result"].ledger_dir),
                   load_reference(settled["settings"]))
    agents = excel.agent_reports(run)
    airlines = excel.airline_reports(run)
    assert sorted(agents) == sorted(settled["ledger"]["agents"].column("agent_code").to_pylist())
    for code in sorted(agents)[:3]:
        assert excel.agent_report(run, code) == agents[code]
    monkeypatch.setattr(excel, "CHUNK_LINES", 7)
    assert excel.agent_reports(run) == agents
    assert excel.airline_reports(run) == airlines
    assert _file(settled, sorted(airlines)[0], "_settlement.xlsx").read_bytes() == \
        airlines[sorted(airlines)[0]]


def test_excel_detail_longer_than_a_sheet_continues_on_the_next(settled, monkeypatch):
    from casslink.outputs import excel

    run = load_run(settled["settings"], Path(settled["result"].ledger_dir),
                   load_reference(settled["settings"]))
    lines = settled["ledger"]["lines"]
    prefix = max(_net_by(lines, "airline_prefix"),
                 key=lambda p: pc.sum(pc.equal(lines.column("airline_prefix"), p)).as_py())
    mine = lines.filter(pc.equal(lines.column("airline_prefix"), prefix))
    limit = 40
    monkeypatch.setattr(excel, "MAX_ROWS", excel.HEADER_ROW + limit)
    path = Path(settled["settings"].home) / "split.xlsx"
    path.write_bytes(excel.airline_report(run, prefix))
    wb = openpyxl.load_workbook(path, read_only=True)
    pages = -(-mine.num_rows // limit)
    assert mine.num_rows > limit
    assert wb.sheetnames == ["Summary", "Detail", *(f"Detail ({i})" for i in range(2, pages + 1))]
    seen = []
    for name in wb.sheetnames[1:]:
        rows = [r for r in wb[name].iter_rows(min_row=9, values_only=True)]
        assert 0 < len(rows) <= limit
        seen += [(r[0], r[1], _minor(r[_at("net")])) for r in rows]
    wb.close()
    assert seen == [(m["agent_code"], f"{prefix}-{m['awb_serial']}", m["net"])
                    for m in mine.to_pylist()]


def test_an_agents_sheet_longer_than_a_sheet_continues_on_the_next(settled, monkeypatch):
    """On the agent's side too: its lines of one airline past Excel's last row continue on
    "<prefix> <name> (2)", ..., right after that airline's first sheet, in ledger order."""
    from casslink.outputs import excel

    run = load_run(settled["settings"], Path(settled["result"].ledger_dir),
                   load_reference(settled["settings"]))
    lines = settled["ledger"]["lines"]
    pairs = {}
    for m in lines.to_pylist():
        pairs.setdefault((m["agent_code"], m["airline_prefix"]), []).append(m)
    (agent, prefix), mine = max(pairs.items(), key=lambda kv: len(kv[1]))
    limit = max(1, len(mine) // 3)
    monkeypatch.setattr(excel, "MAX_ROWS", excel.HEADER_ROW + limit)
    path = Path(settled["settings"].home) / "agent-split.xlsx"
    path.write_bytes(excel.agent_report(run, agent))
    wb = openpyxl.load_workbook(path, read_only=True)
    names = [n for n in wb.sheetnames if n.split(" ")[0] == prefix]
    pages = -(-len(mine) // limit)
    assert len(mine) > limit and len(names) == pages
    assert names[1:] == [f"{names[0][:25]} ({i})" for i in range(2, pages + 1)]
    at = wb.sheetnames.index(names[0])
    assert wb.sheetnames[at:at + pages] == names
    seen = [(r[0], r[1], _minor(r[_at("net")])) for name in names
            for r in wb[name].iter_rows(min_row=9, values_only=True)]
    wb.close()
    assert seen == [(agent, f"{prefix}-{m['awb_serial']}", m["net"]) for m in mine]


def test_redelivery_is_byte_identical_and_formats_are_per_participant(settled):
    s, engine, result = settled["settings"], settled["engine"], settled["result"]
    before = {d["path"]: d["sha256"] for d in settled["delivered"]}
    again = deliver_run(s, engine, result.run_id, Path(result.ledger_dir))
    assert {d["path"]: d["sha256"] for d in again} == before
    agent = sorted(settled["ledger"]["agents"].column("agent_code").to_pylist())[0]
    with session_scope(engine) as ss:
        ss.query(Participant).filter(Participant.code == agent).one().output_formats = "xlsx"
    third = deliver_run(s, engine, result.run_id, Path(result.ledger_dir))
    assert {d["kind"] for d in third if d["participant"] == agent} == {
        "statement-xlsx", "tax-report-xlsx", "tax-report-csv"}  # the tax report: everyone's
    assert len(third) == len(before) - 2
    with session_scope(engine) as ss:
        ss.query(Participant).filter(Participant.code == agent).one().output_formats = None


def test_one_format_at_a_time_replaces_only_its_own_delivery_records(settled):
    s, engine, result = settled["settings"], settled["engine"], settled["result"]
    every = {}
    for fmt in ("xml", "hot", "xlsx"):  # as the settlement DAG's mapped tasks do
        for d in deliver_run(s, engine, result.run_id, Path(result.ledger_dir), formats=[fmt]):
            assert d["path"].endswith("." + fmt) or d["kind"] == "tax-report-csv"
            every[d["path"]] = d["sha256"]
    assert every == {d["path"]: d["sha256"] for d in settled["delivered"]}
    deliver_run(s, engine, result.run_id, Path(result.ledger_dir), formats=["xml"])
    with session_scope(engine) as ss:
        rows = ss.query(Delivery).filter(Delivery.run_id == result.run_id).all()
        assert {r.path: r.sha256 for r in rows} == every
    with pytest.raises(ValueError, match="pdf"):
        deliver_run(s, engine, result.run_id, Path(result.ledger_dir), formats=["pdf"])


def test_libreoffice_prints_statements_readably(settled, tmp_path):
    """LibreOffice prints an agent's statement and the busiest airline's (a detail of several
    pages) on A3 landscape at 100 %: every page has the header row, all columns (from the
    first to the last: nothing spills onto a page of its own) and "Page N of M"."""
    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    if soffice is None or shutil.which("pdftotext") is None or "Carlito" not in fonts:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("LibreOffice, poppler-utils or Carlito missing under CI=true "
                        "(.ci/run installs them)")
        pytest.skip("LibreOffice, poppler-utils or the Carlito font (Calibri's metrics) not "
                    "installed (CI installs them)")
    ledger = settled["ledger"]
    agent = max(ledger["agents"].to_pylist(), key=lambda a: a["counterparties"])
    prefix = max(ledger["airlines"].to_pylist(), key=lambda a: a["awb_count"])
    sources = [_file(settled, agent["agent_code"], "_statement.xlsx"),
               _file(settled, prefix["airline_prefix"], "_settlement.xlsx")]
    out = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, sources)],
                         capture_output=True, text=True, timeout=300)
    for src in sources:
        pdf = tmp_path / (src.stem + ".pdf")
        assert out.returncode == 0 and pdf.exists(), out.stdout + out.stderr
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        size = next(x for x in info.splitlines() if x.startswith("Page size:")).split()
        width, height = float(size[2]), float(size[4])
        assert (round(width), round(height)) == (1191, 842)  # A3 landscape, in points
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True).stdout
        pages = [p for p in text.split("\f") if p.strip()]
        sheets = openpyxl.load_workbook(src, read_only=True).sheetnames
        assert len(pages) > len(sheets)  # some sheet prints on more than one page
        for n, page in enumerate(pages, start=1):
            assert f"Page {n} of {len(pages)}" in page
            head = _header_lines(page)
            detail = "Original" in head  # else a summary
            words = ("Agent", "AWB", "Original", "currency", "File", "Line") if detail else \
                ("name", "AWBs", "records", "Net", "(EUR)")
            assert all(w in head.split() for w in words), page


def _header_lines(page: str) -> str:
    """The printed header row of a page: its last line (amounts name their currency) and
    the wrapped lines above it."""
    lines = page.splitlines()
    last = max(i for i, x in enumerate(lines) if "(EUR)" in x)  # the header's last line
    return " ".join(lines[max(0, last - 3):last + 1])


def test_xml_statements_are_valid_and_add_up_to_the_ledger(settled):
    from lxml import etree

    from casslink.parsers.onerecord.xsd import schema

    ns = {"cb": "https://w3id.org/casslink/ns/billing#",
          "cargo": "https://onerecord.iata.org/ns/cargo#"}
    ni = "https://onerecord.iata.org/ns/code-lists/ChargeIdentifier#NI"
    ledger = settled["ledger"]
    for _kind, table, key, suffix in (("agent", "agents", "agent_code", "_statement.xml"),
                                      ("airline", "airlines", "airline_prefix",
                                       "_settlement.xml")):
        for code, expected in _net_by(ledger[table], key).items():
            doc = etree.parse(str(_file(settled, code, suffix)))
            assert schema().validate(doc), schema().error_log
            due = doc.findtext("cb:BillingStatement/cb:remittanceDue", namespaces=ns)
            assert _minor(due) == expected
            lines = doc.findall(".//cb:StatementLine", namespaces=ns)
            assert sum(_minor(x.findtext("cb:netAmount", namespaces=ns)) for x in lines) \
                == expected
            nis = [r for r in doc.findall(".//cb:line//cargo:Ratings", namespaces=ns)
                   if r.find("cargo:billingChargeIdentifier", ns).get(
                       "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource") == ni]
            assert sum(_minor(r.findtext("cargo:subTotal", namespaces=ns)) for r in nis) \
                == expected


def test_xml_statement_lines_carry_each_bill(settled):
    """Every statement line against its bill, summed here from the ledger's billing, CCA and
    DCM columns: each component's Ratings, no zero amounts but CN and NI; batch = one alone."""
    from lxml import etree

    from casslink.outputs import xml_statements

    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    ns = {"cb": "https://w3id.org/casslink/ns/billing#",
          "cargo": "https://onerecord.iata.org/ns/cargo#"}
    names = {"WT": "weight", "VC": "valuation", "OC": "oc_carrier", "OA": "oc_agent",
             "TX": "taxes"}
    run = load_run(settled["settings"], Path(settled["result"].ledger_dir),
                   load_reference(settled["settings"]))
    statements = xml_statements.agent_statements(run)
    bills = {(b["agent_code"], b["airline_prefix"]): b
             for b in settled["ledger"]["bills"].to_pylist()}
    checked = 0
    for code, data in statements.items():
        assert data == _file(settled, code, "_statement.xml").read_bytes()
        for line in etree.fromstring(bytes(data)).iterfind(".//cb:StatementLine", ns):
            prefix = line.findtext("cb:counterparty/cargo:Carrier/cargo:prefix", namespaces=ns)
            b = bills[(code, prefix)]

            def total(c, b=b):
                return b[c] + b[f"cca_{c}"] + b[f"dcm_{c}"]

            want = {}
            for ident, comp in names.items():
                for pc_, suffix in (("P", "pp"), ("C", "cc")):
                    want[(ident, pc_)] = total(f"{comp}_{suffix}")
            want[("CO", None)] = total("commission")
            want[("SI", None)] = total("discount")
            want[("TX", None)] = total("tax_airline") - total("tax_agent")
            want = {k: v for k, v in want.items() if v}
            want[("CN", None)], want[("NI", None)] = b["net_billing"], b["net"]
            got = {}
            for r in line.iterfind("cb:amount/cargo:Ratings", ns):
                ident = r.find("cargo:billingChargeIdentifier", ns).get(f"{rdf}resource")
                p = r.find("cargo:chargePaymentType", ns)
                key = (ident.rsplit("#", 1)[1],
                       p.get(f"{rdf}resource").rsplit("#", 1)[1] if p is not None else None)
                got[key] = _minor(r.findtext("cargo:subTotal", namespaces=ns))
            assert got == want
            assert line.findtext("cb:awbCount", namespaces=ns) == str(b["awb_count"])
            checked += 1
    assert checked == settled["ledger"]["bills"].num_rows
    one = sorted(statements)[0]
    assert xml_statements.agent_statement(run, one) == statements[one]


def test_the_english_catalogue_holds_every_layout_label():
    """Every label key of the layout tables is in the English catalogue with the table's own
    English label (the tables and the catalogue cannot drift apart)."""
    from casslink.outputs import layouts
    from casslink.outputs.excel import labels

    catalogue = labels("en")
    columns = [*layouts.DETAIL, *layouts.SUMMARY, *(c for pair in layouts.COUNTERPARTY.values()
                                                   for c in pair)]
    assert {c.label_key: c.label for c in columns}.items() <= catalogue.items()
    assert {k: label for k, label, _ in layouts.TITLE_BLOCK}.items() <= catalogue.items()
    assert len({c.label_key for c in layouts.DETAIL}) == len(layouts.DETAIL)
