"""End to end: two airlines upload through the real SFTP gateway, the real Airflow DAGs
(``dag.test()``) ingest and settle, the settlement's asset event queues the invoices DAG,
which issues the legal invoices, and an agent downloads its statement and its invoices by
SFTP; their totals equal an independent computation from the generated billing data."""

from __future__ import annotations

import io
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from casslink.app.synthetic.generator import corrupt_bytes, generate_billing
from casslink.money import convert
from casslink.parsers.hot import read_hot, write_hot

pytestmark = pytest.mark.airflow
SIGNS = {"AWB": 1, "CCO": -1, "CCR": 1, "DCO": -1, "DCR": 1}
TERMS = {"weight_pp": 1, "valuation_pp": 1, "oc_carrier_pp": 1, "oc_agent_cc": -1,
         "commission": -1, "discount": -1, "tax_airline": 1, "tax_agent": -1}


def expected_net(records: list[dict], agent: str) -> int:
    """The agent's remittance in EUR cents, record by record with Decimal conversion."""
    total = 0
    for r in records:
        if r["agent_code"] != agent:
            continue
        for c, t in TERMS.items():
            total += SIGNS[r["record_type"]] * t * convert(r[c] or 0, r["currency"], "EUR",
                                                           r["exchange_rate_e5"] or 0)
    return total


@pytest.fixture(scope="module")
def world(tmp_path_factory, ref):
    from tests.gateway_harness import PASSWORD, GatewayProc

    home = tmp_path_factory.mktemp("e2e") / "var"
    keys = tmp_path_factory.mktemp("keys")
    gp = GatewayProc(home)
    gp.cli("reference", "load")
    gp.cli("users", "add", "lh-ops", "--participant", "LH", "--password-stdin",
           stdin=PASSWORD + "\n")
    gp.cli("users", "add", "af-ops", "--participant", "AF", "--password-stdin",
           stdin=PASSWORD + "\n")
    gen = {f.airline_prefix: f for f in generate_billing(
        ref, "DE", ref.period("DE", "2026-11"), 600, seed=31)}
    lh, af = gen["020"], gen["057"]
    counts = {}
    for f in (lh, af):
        for a in f.records.column("agent_code").to_pylist():
            counts[a] = counts.get(a, 0) + 1
    agent = max(counts, key=counts.get)
    gp.cli("users", "add", "agent-ops", "--participant", agent, "--password-stdin",
           stdin=PASSWORD + "\n")
    gp.start()
    yield {"gp": gp, "lh": lh, "af": af, "agent": agent, "keys": keys, "home": home}
    gp.stop()


@pytest.fixture(scope="module")
def airflow_dags(world):
    """Airflow pointed at the world's data root, a fresh metadata DB, the project's DAGs."""
    from casslink.settings import get_settings
    from tests.conftest import airflow_environ

    s = get_settings().with_home(world["home"])
    with airflow_environ(s, 18082):
        sys.path.insert(0, str(s.dags_dir / "plugins"))
        from airflow.dag_processing.dagbag import DagBag
        from airflow.utils import db

        db.resetdb()
        bag = DagBag(dag_folder=str(s.dags_dir))
        assert bag.import_errors == {}
        yield bag


def test_sftp_to_ack_to_settlement_to_agent_statement(world, airflow_dags, monkeypatch):
    from casslink.outputs import excel, workers
    from tests.test_gateway import PASSWORD

    monkeypatch.setattr(excel, "CHUNK_LINES", 40)  # agent workbooks on forked workers, as a
    # big period renders them, inside the DAG's delivery task
    pools = []

    class CountedPool(workers.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", CountedPool)

    gp, lh, af, agent = world["gp"], world["lh"], world["af"], world["agent"]
    uploads = [("lh-ops", "/inbox/LH_DE_2026-11_01.hot", write_hot(lh.header, lh.records,
                                                                    lh.charges)),
               ("af-ops", "/inbox/AF_DE_2026-11_01.hot", write_hot(af.header, af.records,
                                                                    af.charges))]
    bad_header = type(af.header)(**{**af.header.__dict__, "file_number": 2})
    uploads.append(("af-ops", "/inbox/AF_DE_2026-11_02.hot", corrupt_bytes(
        write_hot(bad_header, af.records, af.charges), [{"kind": "wrong_trailer_count"}])))
    for login, path, data in uploads:
        t, s = gp.sftp(login, PASSWORD)
        s.putfo(io.BytesIO(data), path + ".part")
        s.rename(path + ".part", path)
        t.close()
    rows = gp.registry()
    assert [r["name"] for r in rows] == [Path(p).name for _, p, _ in uploads]  # once each

    ingest = airflow_dags.dags["casslink_ingest"]
    states = {}
    for r in rows:
        run = ingest.test(run_conf={"file_id": r["id"]})
        branch = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        states[r["name"]] = (str(run.state), branch["rejected"])
    # a rejected file is a successful run (red is for technical failures), on its own branch
    assert states == {"LH_DE_2026-11_01.hot": ("success", "skipped"),
                      "AF_DE_2026-11_01.hot": ("success", "skipped"),
                      "AF_DE_2026-11_02.hot": ("success", "success")}
    after = {r["name"]: r for r in gp.registry()}
    assert after["AF_DE_2026-11_02.hot"]["state"] == "quarantined"
    assert after["LH_DE_2026-11_01.hot"]["state"] == "archived"

    t, s = gp.sftp("af-ops", PASSWORD)
    acks = sorted(s.listdir("/outbox"))
    bad_ack = next(a for a in acks if a.startswith("AF_DE_2026-11_02") and a.endswith(".txt"))
    with s.open(f"/outbox/{bad_ack}") as fh:
        text = fh.read().decode()
    t.close()
    assert "REJECTED" in text and "HOT-E104" in text

    settle = airflow_dags.dags["casslink_settlement"].test(
        run_conf={"operation": "DE", "period": "2026-11"})
    assert str(settle.state) == "success"
    assert pools  # the agent workbooks went through worker processes

    # the settled period is an event of the asset the invoices DAG is scheduled on: the
    # scheduler has queued an invoices run for it
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = session.query(AssetModel).filter_by(name="casslink_period_settled").one()
        events = [e.extra for e in session.query(AssetEvent).filter_by(asset_id=asset.id)]
        queued = {q.target_dag_id for q in session.query(AssetDagRunQueue).filter_by(
            asset_id=asset.id)}
    assert [{k: e[k] for k in ("operation", "period")} for e in events] == [
        {"operation": "DE", "period": "2026-11"}]
    assert queued == {"casslink_invoices"}
    # the run the scheduler starts reads the event's extra (triggering_asset_events); dag.test
    # cannot start an asset-triggered run, so it gets the same ids as a manual run's conf
    ask_for_pdf_only("020")  # LH's settings: its settlement files and PDF invoices, no UBL
    invoices = airflow_dags.dags["casslink_invoices"].test(run_conf=events[0])
    assert str(invoices.state) == "success"
    assert {ti.task_id for ti in invoices.get_task_instances()
            if str(ti.state) != "success"} == set()

    t, s = gp.sftp("agent-ops", PASSWORD)
    names = sorted(s.listdir("/outbox"))
    numbers = invoice_numbers(agent)
    # the agent chose no formats (= every one): each of its documents as PDF/A-3 and UBL
    assert names == sorted([f"DE_2026-11_{agent}_billing.hot",
                            f"DE_2026-11_{agent}_statement.xlsx",
                            f"DE_2026-11_{agent}_statement.xml",
                            f"DE_2026-11_{agent}_tax-report.csv",
                            f"DE_2026-11_{agent}_tax-report.xlsx"]
                           + [f"DE_2026-11_{agent}_{n}.pdf" for n in numbers]
                           + [f"DE_2026-11_{agent}_{n}_ubl.xml" for n in numbers])
    ubls = {}
    for n in numbers:
        data = io.BytesIO()
        s.getfo(f"/outbox/DE_2026-11_{agent}_{n}_ubl.xml", data)
        ubls[n] = data.getvalue()
    t.close()
    t, s = gp.sftp("lh-ops", PASSWORD)
    lh_invoices = sorted(n for n in s.listdir("/outbox") if n.startswith("DE_2026-11_020_DE-"))
    assert lh_invoices and lh_invoices == sorted(
        f"DE_2026-11_020_{n}.pdf" for n in invoice_numbers(airline="020"))
    t.close()
    t, s = gp.sftp("agent-ops", PASSWORD)
    report = io.BytesIO()  # the tax report: the agent's own lines only
    s.getfo(f"/outbox/DE_2026-11_{agent}_tax-report.csv", report)
    assert {r.split(",")[2] for r in report.getvalue().decode().splitlines()[1:]
            if r.startswith("agent,")} == {agent}
    xlsx, hot, xml = io.BytesIO(), io.BytesIO(), io.BytesIO()
    s.getfo(f"/outbox/DE_2026-11_{agent}_statement.xlsx", xlsx)
    s.getfo(f"/outbox/DE_2026-11_{agent}_billing.hot", hot)
    s.getfo(f"/outbox/DE_2026-11_{agent}_statement.xml", xml)
    t.close()

    records = lh.records.to_pylist() + af.records.to_pylist()
    want = expected_net(records, agent)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.getvalue()), read_only=True)
    total_row = next(r for r in wb["Summary"].iter_rows(values_only=True)
                     if r and r[0] and str(r[0]).startswith("Total"))
    total = [v for v in total_row if isinstance(v, (int, float))][-1]
    assert int(Decimal(str(total)).scaleb(2)) == want
    landed = {(r["name"], r["id"]) for r in after.values() if r["state"] == "archived"}
    sources = set()
    for ws in wb.worksheets[1:]:  # every detail line names its file as uploaded, and its id
        rows = list(ws.iter_rows(min_row=8, values_only=True))
        at = rows[0].index("Source file")
        assert rows[0][at + 1] == "File id"
        sources |= {(r[at], r[at + 1]) for r in rows[1:]}
    assert sources and sources <= landed
    from lxml import etree

    due = etree.fromstring(xml.getvalue()).findtext(
        "{https://w3id.org/casslink/ns/billing#}BillingStatement/"
        "{https://w3id.org/casslink/ns/billing#}remittanceDue")
    assert int(Decimal(due).scaleb(2)) == want
    back = read_hot(hot.getvalue(), "agent-hot")
    assert back.problems == [] and expected_net(back.records.to_pylist(), agent) == want
    mine = [r for r in records if r["agent_code"] == agent]
    assert back.records.num_rows == len(mine)
    # the documents move what the ledger does: an invoice (380) and a self-billed commission
    # invoice (389, DE self-bills) per airline the agent used; payable signed as the ledger
    airlines = {r["airline_prefix"] for r in mine}
    kinds = sorted((n.split("-")[1], "SB" in n) for n in numbers)
    assert kinds == sorted((a, sb) for a in airlines for sb in (False, True))
    moved = sum(LEDGER_SIGN[_ubl_type(x)] * _ubl_payable(x) for x in ubls.values())
    assert int(moved.scaleb(2)) == want


LEDGER_SIGN = {"380": 1, "381": -1, "389": -1, "261": 1}  # UNTDID 1001, as the agent's net


def _ubl_type(xml: bytes) -> str:
    from lxml import etree

    root = etree.fromstring(xml)
    return root.xpath("string(/*/*[local-name()='InvoiceTypeCode' or "
                      "local-name()='CreditNoteTypeCode'])")


def _ubl_payable(xml: bytes) -> Decimal:
    from lxml import etree

    return Decimal(etree.fromstring(xml).xpath(
        "string(/*/*[local-name()='LegalMonetaryTotal']/*[local-name()='PayableAmount'])"))


def invoice_numbers(agent: str = "", airline: str = "") -> list[str]:
    """The numbers of an agent's or an airline's documents of DE 2026-11, from the project
    database (the one the DAGs' tasks use)."""
    from sqlalchemy import select

    from casslink.db.engine import engine_for
    from casslink.db.models import Invoice
    from casslink.settings import get_settings

    query = select(Invoice.number).where(Invoice.period_id == "2026-11")
    query = query.where(Invoice.agent_code == agent) if agent else query.where(
        Invoice.airline_prefix == airline)
    with engine_for(get_settings().db_url) as engine, engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def ask_for_pdf_only(participant: str) -> None:
    """The participant's settings, as the portal's settings page stores them."""
    from sqlalchemy import update

    from casslink.db.engine import engine_for
    from casslink.db.models import Participant
    from casslink.settings import get_settings

    with engine_for(get_settings().db_url) as engine, engine.begin() as conn:
        conn.execute(update(Participant).where(Participant.code == participant).values(
            output_formats="hot,xlsx,xml,pdf"))
