"""Settlement: a hand-computed period to the cent, FX rounding against Decimal, conservation on
generated periods, idempotence (byte-identical ledgers), re-bill rules and lineage."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink import registry, warehouse
from casslink.app.synthetic.generator import generate_billing
from casslink.canonical import RECORDS_SCHEMA, empty_charges
from casslink.db.engine import make_engine, session_scope
from casslink.db.models import SettlementRun
from casslink.settlement import run as settlement_run
from casslink.settlement.ledger import bills, convert, ledger_lines, totals
from casslink.settlement.run import (
    ConservationError,
    LedgerTables,
    SettlementError,
    check_conservation,
    latest_ledger,
    read_ledger,
    settle,
    trace,
)

A1, A2 = "23156130152", "23658656000"  # DE agents of the fixture world
DAY = dt.date(2026, 11, 12)


def rec(record_type, prefix, serial, agent, currency="EUR", rate=0, number=None, line=1,
        source="file-a", day=DAY, origin="FRA", destination="HKG", **amounts) -> dict:
    """One canonical record; amounts not given are 0."""
    row = {name: None for name in RECORDS_SCHEMA.names}
    row.update(record_type=record_type, airline_prefix=prefix, awb_serial=serial,
               agent_code=agent, currency=currency, exchange_rate_e5=rate,
               correction_number=number, execution_date=day, origin=origin,
               destination=destination, source_file=source, source_line=line)
    for name in ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_pp", "weight_cc",
                 "valuation_cc", "oc_carrier_cc", "oc_agent_cc", "taxes_pp", "taxes_cc",
                 "commission", "discount", "tax_airline", "tax_agent"):
        row[name] = amounts.get(name, 0)
    return row


AWB1 = dict(weight_pp=100000, valuation_pp=5000, oc_carrier_pp=12000, oc_agent_pp=3000,
            oc_agent_cc=2000, commission=5000, discount=-1000, tax_airline=1900, tax_agent=950)


def hand_period() -> tuple[list[dict], list[dict]]:
    """Two files: LH (020) and AF (057) billing DE agents A1 and A2 in 2026-11.

    DE's tax rules (fixtures/reference/tax_rules.csv) are ``compute``: VAT on charges only on
    domestic carriage, 19 % VAT on commission. So AWB1's file VAT due airline 19.00 (FRA-HKG,
    international: exempt) is billed as 0.00, its VAT on commission 9.50 stands (50.00 x 19 %),
    and the AF USD AWB's commission 25.00 USD gets 4.75 USD VAT -> 4.386... -> 4.39 EUR."""
    lh = [
        # AWB in EUR with VAT: 1000.00 + 50.00 + 120.00 - 20.00 - 50.00 + 10.00 (discount -)
        # + 19.00 - 9.50 = 1119.50 as filed (prepaid OC due agent 30.00 is not billed);
        # billed with computed VAT: 1119.50 - 19.00 = 1100.50
        rec("AWB", "020", "12345675", A1, line=2, **AWB1),
        # collect AWB: weight collect is not billed; collect OC due agent 15.00 is credited
        rec("AWB", "020", "22222224", A2, line=3, weight_cc=50000, oc_agent_cc=1500),
        # CCA on the first AWB: the weight charge moves from prepaid to collect: -1000.00
        rec("CCO", "020", "12345675", A1, number="CCA001", line=4, **AWB1),
        rec("CCR", "020", "12345675", A1, number="CCA001", line=5,
            **{**AWB1, "weight_pp": 0, "weight_cc": 100000}),
    ]
    af = [
        # USD AWB at 0.92345: 1000.00 USD -> 923.45; 10.01 -> 9.2437 -> 9.24; commission
        # 25.00 -> 23.08625 -> 23.09 (half-up): net 923.45 + 9.24 - 23.09 = 909.60
        rec("AWB", "057", "33333335", A1, currency="USD", rate=92345, source="file-b", line=2,
            weight_pp=100000, oc_carrier_pp=1001, commission=2500),
        # DCM 6K0732 (spec 4.6): original net 507.30, revised 291.79 -> credit 215.51
        rec("DCO", "057", "95636343", A2, number="6K0732", source="file-b", line=3,
            weight_pp=50730),
        rec("DCR", "057", "95636343", A2, number="6K0732", source="file-b", line=4,
            weight_pp=29179),
    ]
    return lh, af


EXPECTED_BILLS = {(A1, "020"): 110050 - 100000, (A1, "057"): 90960 - 439,
                  (A2, "020"): -1500, (A2, "057"): -21551}
EXPECTED_AGENTS = {A1: 100571, A2: -23051}  # A2: negative, CASS pays the agent
EXPECTED_AIRLINES = {"020": 8550, "057": 68970}


def store(settings_, file_id: int, rows: list[dict], period="2026-11") -> None:
    """Store a hand-made part as file ``file_id``, an accepted file of the registry."""
    engine = make_engine(settings_.db_url)
    try:
        assert registry.record_stored(engine, f"hand-{file_id}", f"hand-{file_id}.hot", "DE",
                                      period) == file_id
    finally:
        engine.dispose()
    warehouse.store(settings_, "DE", period, file_id,
                    pa.Table.from_pylist(rows, RECORDS_SCHEMA), empty_charges())


def test_hand_computed_period(system):
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    result = settle(s, engine, "DE", "2026-11")
    assert result.kind == "regular" and result.currency == "EUR"
    ledger = read_ledger(Path(result.ledger_dir))
    got = {(b["agent_code"], b["airline_prefix"]): b["net"] for b in ledger["bills"].to_pylist()}
    assert got == EXPECTED_BILLS
    assert {a["agent_code"]: a["net"] for a in ledger["agents"].to_pylist()} == EXPECTED_AGENTS
    assert {a["airline_prefix"]: a["net"] for a in ledger["airlines"].to_pylist()} == \
        EXPECTED_AIRLINES
    assert result.total == 77520 == sum(EXPECTED_AGENTS.values())
    b = {(x["agent_code"], x["airline_prefix"]): x for x in ledger["bills"].to_pylist()}
    lh_a1 = b[(A1, "020")]
    assert (lh_a1["awb_count"], lh_a1["cca_records"], lh_a1["dcm_records"]) == (1, 2, 0)
    assert lh_a1["net_billing"] == 110050 and lh_a1["corrections_net"] == -100000
    assert lh_a1["cca_weight_pp"] == -100000 and lh_a1["cca_weight_cc"] == 100000
    assert lh_a1["tax_airline"] == 0 and lh_a1["tax_agent"] == 950  # computed (see above)
    af_a1 = b[(A1, "057")]
    assert (af_a1["weight_pp"], af_a1["oc_carrier_pp"], af_a1["commission"]) == (92345, 924,
                                                                                 2309)
    assert b[(A2, "057")]["dcm_net"] == -21551 and b[(A2, "057")]["awb_count"] == 0
    # the period is billed now: files arriving later go to the next period
    from casslink.reference import ReferenceData

    assert ReferenceData.from_db(engine).period("DE", "2026-11").status == "billed"


def test_ledger_tables_are_read_on_first_use(system, tmp_path):
    """LedgerTables reads each table when first asked (as read_ledger reads them all)."""
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    folder = Path(settle(s, engine, "DE", "2026-11").ledger_dir)
    whole = read_ledger(folder)
    copy = tmp_path / "ledger"
    shutil.copytree(folder, copy)
    tables = LedgerTables(copy)
    (copy / "lines.parquet").unlink()  # never asked for: never read
    assert tables["bills"].equals(whole["bills"]) and tables["agents"].equals(whole["agents"])
    assert sorted(tables) == sorted(whole) and len(tables) == 5  # lines, bills, agents,
    # airlines, tax
    with pytest.raises(FileNotFoundError):
        tables["lines"]
    with pytest.raises(KeyError):
        tables["records"]


def test_ledger_tables_read_a_selection_of_columns(system, tmp_path):
    """A selection is the whole table's columns of those names, in the file's order, read
    alone until the whole table is read."""
    s, engine = system
    lh, _ = hand_period()
    store(s, 1, lh)
    folder = Path(settle(s, engine, "DE", "2026-11").ledger_dir)
    whole = read_ledger(folder)["lines"]
    tables = LedgerTables(folder)
    picked = tables.select("lines", {"net", "agent_code", "no_such_column"})
    assert picked.column_names == ["agent_code", "net"]
    assert picked.equals(whole.select(["agent_code", "net"]))
    assert tables.select("lines", ["no_such_column", "net", "agent_code"]) is picked  # once
    tables["lines"]
    assert tables.select("lines", ["net", "agent_code"]).equals(picked)
    with pytest.raises(KeyError):
        tables.select("records", ["net"])


def test_same_inputs_give_byte_identical_ledger(system):
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    first = settle(s, engine, "DE", "2026-11")
    before = {p.name: p.read_bytes() for p in Path(first.ledger_dir).iterdir()}
    again = settle(s, engine, "DE", "2026-11-20")  # any date inside the period
    assert again.kind == "repeat" and again.ledger_dir == first.ledger_dir
    assert {p.name: p.read_bytes() for p in Path(again.ledger_dir).iterdir()} == before


def test_new_input_preview_then_billed_period_needs_rebill(system):
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    preview = settle(s, engine, "DE", "2026-11", preview=True)
    assert preview.kind == "preview" and preview.total == 110050 - 1500 - 100000
    assert preview.ledger_dir == "" and not settlement_run.ledger_root(s, "DE", "2026-11").exists()
    store(s, 2, af)  # a new file accepted while the period is open
    billed = settle(s, engine, "DE", "2026-11")
    assert billed.total == 77520 and billed.kind == "regular"
    store(s, 3, [rec("AWB", "020", "44444443", A1, source="file-c", line=2, weight_pp=100)])
    with pytest.raises(SettlementError, match="rebill"):
        settle(s, engine, "DE", "2026-11")
    rebill = settle(s, engine, "DE", "2026-11", rebill=True)
    assert rebill.kind == "rebill" and rebill.total == 77520 + 100


def _settled_hand_period(system) -> Path:
    """The hand period's two files stored and settled: the run's ledger folder."""
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    settle(s, engine, "DE", "2026-11")
    return latest_ledger(engine, "DE", "2026-11")


def test_lineage_lists_input_lines(system):
    engine, folder = system[1], _settled_hand_period(system)
    out = trace(engine, folder, A1, "020")
    assert [(f["sha256"], f["lines"], f["net"]) for f in out] == [("file-a", [2, 4, 5], 10050)]
    both = trace(engine, folder, A2, None)
    assert {f["sha256"]: f["lines"] for f in both} == {"file-a": [3], "file-b": [3, 4]}


def test_each_line_names_its_input_row(system):
    """input_row: each line's record among the run's inputs (the manifest's parts in order,
    each part's rows in turn) - the record it came from, each record once."""
    s, folder = system[0], _settled_hand_period(system)
    lines = read_ledger(folder)["lines"]
    parts = [i["part"] for i in json.loads((folder / "manifest.json").read_text())["inputs"]]
    rows = [r for p in parts for r in pq.read_table(
        warehouse.partition(s, "DE", "2026-11") / "records" / p).to_pylist()]
    assert sorted(lines.column("input_row").to_pylist()) == list(range(len(rows)))
    for line, i in zip(lines.to_pylist(), lines.column("input_row").to_pylist(), strict=True):
        assert (rows[i]["source_file"], rows[i]["source_line"], rows[i]["awb_serial"]) == (
            line["source_file"], line["source_line"], line["awb_serial"])


def test_a_run_reads_exactly_the_parts_its_manifest_lists(system, monkeypatch):
    """A part stored after the run listed its inputs is not read (nor in the manifest)."""
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    listed = settlement_run._inputs(s, engine, "DE", "2026-11")
    store(s, 2, af)  # lands while the run starts
    monkeypatch.setattr(settlement_run, "_inputs", lambda *args: listed)
    settle(s, engine, "DE", "2026-11")
    lines = read_ledger(latest_ledger(engine, "DE", "2026-11"))["lines"]
    assert set(lines.column("source_file").to_pylist()) == {"file-a"}
    assert lines.num_rows == len(lh)
    with pytest.raises(FileNotFoundError, match="parts gone"):
        warehouse.read(s, "DE", "2026-11", only=[warehouse.part_name(3)])


def test_foreign_currency_without_rate_fails_loudly(system):
    s, engine = system
    store(s, 1, [rec("AWB", "020", "12345675", A1, currency="USD", rate=0, weight_pp=100)])
    with pytest.raises(SettlementError, match="no rate of exchange"):
        settle(s, engine, "DE", "2026-11")


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(1, 10**10 - 1),
       st.sampled_from([("USD", "EUR"), ("JPY", "EUR"), ("EUR", "JPY"), ("BHD", "USD"),
                        ("USD", "BHD")]))
def test_convert_matches_decimal_half_up(amount, rate, pair):
    from casslink.money import minor_unit

    src, dst = pair
    value = Decimal(amount).scaleb(-minor_unit(src)) * Decimal(rate).scaleb(-5)
    want = value.quantize(Decimal(1).scaleb(-minor_unit(dst)), rounding=ROUND_HALF_UP)
    want = int(want.scaleb(minor_unit(dst)))
    args = np.array([amount]), np.array([rate]), minor_unit(src), minor_unit(dst)
    if abs(want) >= 2**63:  # e.g. 10**12 JPY at 99999 EUR/JPY: not representable
        with pytest.raises(OverflowError):
            convert(*args)
    else:
        assert int(convert(*args)[0]) == want


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_conservation_on_generated_periods(ref, seed):
    period = ref.period("DE", "2026-11")
    files = generate_billing(ref, "DE", period, 3000, seed=seed)
    records = pa.concat_tables([f.records for f in files])
    lines = ledger_lines(records, "DE", "2026-11", "EUR")
    bill_table = bills(lines)
    agents = totals(bill_table, "agent_code", "airline_prefix")
    airlines = totals(bill_table, "airline_prefix", "agent_code")
    check_conservation(lines, bill_table, agents, airlines)
    assert lines.num_rows == records.num_rows == pc.sum(bill_table.column("records")).as_py()
    # an independent total: plain Python over the record dicts, converted one by one
    from casslink.money import convert as money_convert

    total = 0
    sign = {"AWB": 1, "CCO": -1, "CCR": 1, "DCO": -1, "DCR": 1}
    terms = {"weight_pp": 1, "valuation_pp": 1, "oc_carrier_pp": 1, "oc_agent_cc": -1,
             "commission": -1, "discount": -1, "tax_airline": 1, "tax_agent": -1}
    for r in records.to_pylist():
        for c, t in terms.items():
            total += sign[r["record_type"]] * t * money_convert(
                r[c] or 0, r["currency"], "EUR", r["exchange_rate_e5"] or 0)
    assert pc.sum(agents.column("net")).as_py() == total
    # tampering with one agent's remittance is caught and named
    bad = agents.set_column(agents.schema.get_field_index("net"), "net",
                            pc.add(agents.column("net"), pa.array(
                                [1] + [0] * (agents.num_rows - 1))))
    with pytest.raises(ConservationError, match=agents.column("agent_code")[0].as_py()):
        check_conservation(lines, bill_table, bad, airlines)


def test_totals_identical_whether_inputs_came_as_hot_or_xml(ref):
    from casslink.parsers.hot import read_hot, write_hot
    from casslink.parsers.onerecord.reader import read_xml
    from casslink.parsers.onerecord.writer import write_xml

    period = ref.period("DE", "2026-11")
    via_hot, via_xml = [], []
    for f in generate_billing(ref, "DE", period, 1500, seed=77):
        via_hot.append(read_hot(write_hot(f.header, f.records, f.charges), "h").records)
        via_xml.append(read_xml(write_xml(f.header, f.records, f.charges), "x").records)
    results = []
    for tables in (via_hot, via_xml):
        lines = ledger_lines(pa.concat_tables(tables), "DE", "2026-11", "EUR")
        b = bills(lines)
        results.append({k: sorted(totals(b, k, o).select([k, "net"]).to_pylist(),
                                  key=lambda r: r[k])
                        for k, o in (("agent_code", "airline_prefix"),
                                     ("airline_prefix", "agent_code"))})
    assert results[0] == results[1] and len(results[0]["agent_code"]) > 10


def test_a_calendar_correction_is_noticed_by_the_next_settlement(system):
    """The reference digest does not cover an operator's calendar correction; the run's
    digest does: a billed period whose remittance date moved is not a ``repeat`` of its old
    run (that would keep the old dates in the outputs) but needs an explicit re-bill."""
    from casslink import calendars
    from casslink.reference import load_reference

    s, engine = system
    before = load_reference(s).digest
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    first = settle(s, engine, "DE", "2026-11")
    old = json.loads((Path(first.ledger_dir) / "manifest.json").read_text())
    assert settle(s, engine, "DE", "2026-11").kind == "repeat"
    moved = dt.date.fromisoformat(old["remittance_date"]) + dt.timedelta(days=3)
    calendars.correct(engine, "DE", "2026-11", "bank holiday", remittance=moved)
    assert load_reference(s).digest == before  # the correction is not reference data
    with pytest.raises(SettlementError, match="rebill"):
        settle(s, engine, "DE", "2026-11")
    rebill = settle(s, engine, "DE", "2026-11", rebill=True)
    assert rebill.kind == "rebill" and rebill.ledger_dir != first.ledger_dir
    assert rebill.total == first.total == 77520
    new = json.loads((Path(rebill.ledger_dir) / "manifest.json").read_text())
    assert new["remittance_date"] == moved.isoformat()
    # the old run's manifest stays as it was, for audit
    assert json.loads((Path(first.ledger_dir) / "manifest.json").read_text()) == old


def _as_legacy_run(engine, result, dates: dict | None) -> None:
    """Make ``result``'s run look recorded before the digest covered the period's dates: the
    digest of that formula (code, reference, parts - computed here from the manifest) and a
    manifest with ``dates`` (old keys; no cut-off) or none at all."""
    folder = Path(result.ledger_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    h = hashlib.sha256(f"casslink {manifest['code_version']}\n"
                       f"reference {manifest['reference_digest']}\n".encode())
    for i in manifest["inputs"]:
        h.update(f"{i['part']} {i['part_sha256']}\n".encode())
    for key in ("period_dates", "period_start", "period_end", "billing_date",
                "remittance_date"):
        manifest.pop(key, None)
    manifest.update(dates or {}, inputs_digest=h.hexdigest())
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with session_scope(engine) as s:
        s.get(SettlementRun, result.run_id).inputs_digest = h.hexdigest()


def test_a_run_recorded_with_the_legacy_digest_is_repeated_not_rebilled(system):
    """After the upgrade that put the period's dates into the digest, settling an already
    billed period again over the same inputs is a ``repeat`` - unless a date its legacy
    manifest recorded has been corrected since."""
    from casslink import calendars
    from casslink.reference import load_reference

    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    first = settle(s, engine, "DE", "2026-11")
    manifest = json.loads((Path(first.ledger_dir) / "manifest.json").read_text())
    old = {k: manifest[k] for k in ("period_start", "period_end", "billing_date",
                                    "remittance_date")}
    _as_legacy_run(engine, first, old)
    again = settle(s, engine, "DE", "2026-11")
    assert again.kind == "repeat" and again.total == first.total == 77520
    # the repeat records today's digest and every date, the cut-off too
    period = load_reference(s).period("DE", "2026-11")
    dates = json.loads((Path(again.ledger_dir) / "manifest.json").read_text())["period_dates"]
    assert dates == {"start": old["period_start"], "end": old["period_end"],
                     "correction_cutoff": period.correction_cutoff.isoformat(),
                     "billing": old["billing_date"], "remittance": old["remittance_date"]}
    assert settle(s, engine, "DE", "2026-11").ledger_dir == again.ledger_dir
    # a legacy manifest without dates: the legacy digest alone makes it a repeat
    _as_legacy_run(engine, again, None)
    assert settle(s, engine, "DE", "2026-11").kind == "repeat"
    # a legacy run whose remittance date was corrected since: an explicit re-bill
    latest = settle(s, engine, "DE", "2026-11")
    _as_legacy_run(engine, latest, old)
    moved = dt.date.fromisoformat(dates["remittance"]) + dt.timedelta(days=3)
    calendars.correct(engine, "DE", "2026-11", "bank holiday", remittance=moved)
    with pytest.raises(SettlementError, match="rebill"):
        settle(s, engine, "DE", "2026-11")
    assert settle(s, engine, "DE", "2026-11", rebill=True).kind == "rebill"
