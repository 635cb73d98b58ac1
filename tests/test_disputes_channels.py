"""The bulk CSV channel (disputes and decisions dropped into inbox/, recognised by the
header, each line checked, acknowledged) and the per-period dispute report (CSV + Excel)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from sqlalchemy import select, update

from casslink.app.disputes import bulk, service
from casslink.app.disputes.report import write_reports
from casslink.app.ingest import ingest_file, land_and_ingest
from casslink.db.engine import session_scope
from casslink.db.models import Dispute, Participant
from casslink.outbox import home_of
from casslink.participants import resolve
from tests.dispute_world import A1, A2, AWB1, AWB2, LH, build


@pytest.fixture
def world(system, tmp_path, monkeypatch):
    s, engine = system
    build(s, engine, tmp_path)
    monkeypatch.setattr(bulk, "today", lambda: dt.date(2026, 12, 4))
    return s, engine


def _ack(s, code: str, name: str, file_id: int) -> list[list[str]]:
    path = home_of(s, code) / "outbox" / f"{name}.f{file_id:06d}.ack.csv"
    return list(csv.reader(io.StringIO(path.read_text())))


def test_csv_of_disputes_then_decisions(world, tmp_path):
    s, engine = world
    raises = tmp_path / "disputes.csv"
    raises.write_text("agent,airline,awb,reason,amount,text\r\n"
                      f"{A1},{LH},{LH}-{AWB1},rate,120.00,contract rate\r\n"
                      f"{A1},{LH},{LH}-{AWB2},rate,10.00,not ours to dispute\r\n"
                      f"{A2},{LH},{LH}-{AWB2},rate,10.00,for another agent\r\n")
    r = land_and_ingest(s, engine, raises, resolve(engine, A1), user_login="fw-admin")
    assert (r.state, r.verdict) == ("archived", "partial")
    ack = _ack(s, A1, "disputes.csv", r.file_id)
    assert ack[0] == ["line", "outcome", "dispute", "message"]
    assert [row[:2] for row in ack[1:]] == [["2", "done"], ["3", "refused"], ["4", "refused"]]
    assert "not billed to agent" in ack[2][3] and "only for itself" in ack[3][3]
    did = int(ack[1][2])
    assert ingest_file(s, engine, r.file_id).already_done  # a retry does nothing again
    with session_scope(engine) as ses:
        assert ses.scalars(select(Dispute.source)).all() == [f"file:{r.file_id}:2"]
    again = land_and_ingest(s, engine, raises, resolve(engine, A1), user_login="fw-admin")
    assert (again.file_id != r.file_id, again.verdict) == (True, "rejected")
    assert "received before" in _ack(s, A1, "disputes.csv", again.file_id)[1][3]
    assert len(service.list_disputes(engine, service.OPERATOR)) == 1

    decisions = tmp_path / "decisions.csv"
    decisions.write_text("dispute,decision,amount,text\n"
                         f"{did},accept,50.00,half of it\n"
                         "999,reject,,no such\n")
    r2 = land_and_ingest(s, engine, decisions, resolve(engine, LH), user_login="lh-admin")
    assert (r2.state, r2.verdict) == ("archived", "partial")
    assert [row[1] for row in _ack(s, LH, "decisions.csv", r2.file_id)[1:]] == [
        "done", "refused"]
    d = service.show(engine, service.OPERATOR, did)
    assert (d["status"], d["accepted_minor"]) == ("ADJUSTED", 5000)


def test_a_csv_from_a_sender_without_rights_is_refused_whole(world, tmp_path):
    s, engine = world
    f = tmp_path / "d.csv"
    f.write_text(f"agent,airline,awb,reason,amount,text\n{A1},{LH},{LH}-{AWB1},rate,1.00,x\n")
    r = land_and_ingest(s, engine, f, resolve(engine, A1))  # no SFTP user: no rights
    assert (r.state, r.verdict) == ("quarantined", "rejected")
    assert service.list_disputes(engine, service.OPERATOR) == []


def test_period_report_per_party(world):
    s, engine = world
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="rate", amount="120.00",
                                today=dt.date(2026, 12, 4))
    service.decide(s, engine, service.OPERATOR, did, accept=True, amount="80.00",
                   today=dt.date(2026, 12, 4))
    out = write_reports(s, engine, "DE", "2026-11", "EUR", dt.date(2026, 12, 6))
    assert sorted(out) == [LH, A1]
    rows = list(csv.DictReader(io.StringIO(out[A1][0].read_text())))
    assert [(r["Dispute"], r["Status"], r["Kind"], r["AWB"], r["Reason"], r["Claimed"],
             r["Accepted"], r["CCA/DCM no."], r["Adjustment period"]) for r in rows] == [
        (str(did), "Adjusted", "Correction", f"{LH}-{AWB1}", "Rate applied is wrong", "120.00",
         "80.00", "CP0001", "2026-12")]
    assert out[LH][0].read_bytes() == out[A1][0].read_bytes()  # one dispute, both parties
    with zipfile.ZipFile(out[A1][1]) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert f"{LH}-{AWB1}" in sheet and "<v>120.00</v>" in sheet and "<v>80.00</v>" in sheet
    # the December report lists it too: its adjustment is billed there
    assert write_reports(s, engine, "DE", "2026-12", "EUR")[A1]


def test_the_report_comes_in_each_partys_document_language(world):
    """A1 reads Japanese, LH German: headers, title, status, kind and reason are translated
    (codes, amounts and dates are not); A2, with no language set, keeps English."""
    s, engine = world
    with session_scope(engine) as session:
        session.execute(update(Participant).where(Participant.code == A1).values(language="ja"))
        session.execute(update(Participant).where(Participant.code == LH).values(language="de"))
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="rate", amount="120.00",
                                today=dt.date(2026, 12, 4))
    service.decide(s, engine, service.OPERATOR, did, accept=True, amount="80.00",
                   today=dt.date(2026, 12, 4))
    dup = service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                                awb=f"{LH}-{AWB2}", reason="duplicate",
                                today=dt.date(2026, 12, 10))
    out = write_reports(s, engine, "DE", "2026-11", "EUR", dt.date(2026, 12, 11))
    ja = list(csv.reader(io.StringIO(out[A1][0].read_text(encoding="utf-8"))))
    assert ja[0] == ["異議", "状況", "種類", "CASSオペレーション", "期間", "代理店", "航空会社",
                     "航空運送状", "理由", "請求額", "承認額", "通貨", "伝票種別", "CCA/DCM番号",
                     "調整期間", "申立日", "回答期限", "本文"]
    assert ja[1][:12] == [str(did), "調整済み", "訂正", "DE", "2026-11", A1, LH, f"{LH}-{AWB1}",
                          "適用運賃の誤り", "120.00", "80.00", "EUR"]
    de = list(csv.reader(io.StringIO(out[LH][0].read_text(encoding="utf-8"))))
    assert de[0] == ["Reklamation", "Status", "Art", "CASS-Operation", "Periode", "Agent",
                     "Fluggesellschaft", "Luftfrachtbrief", "Grund", "Gefordert", "Angenommen",
                     "Währung", "Belegart", "CCA/DCM-Nr.", "Periode des Korrekturbelegs",
                     "Eingereicht am", "Antwort fällig", "Text"]
    assert [[*r[:3], r[8]] for r in de[1:]] == [
        [str(did), "Verrechnet", "Korrektur", "Falscher Tarif angewandt"],
        [str(dup), "Eingereicht", "Reklamation vor der Zahlung", "Doppelte Abrechnung"]]
    en = list(csv.reader(io.StringIO(out[A2][0].read_text(encoding="utf-8"))))
    assert en[0][:3] == ["Dispute", "Status", "Kind"]
    assert [*en[1][1:3], en[1][8]] == ["Raised", "Pre-remittance dispute", "Duplicate billing"]
    for code, title, words in ((A1, "異議 DE 2026-11", ("回答期限", "調整済み", "適用運賃の誤り")),
                               (LH, "Reklamationen DE 2026-11",
                                ("Antwort fällig", "Verrechnet", "Doppelte Abrechnung"))):
        with zipfile.ZipFile(out[code][1]) as z:
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
            names = z.read("xl/workbook.xml").decode()
        assert title in sheet and title in names
        assert all(w in sheet for w in words) and "<v>80.00</v>" in sheet


def test_an_airlines_own_dcm_for_a_disputed_awb_links_to_it(world, tmp_path):
    from casslink.reference import ReferenceData
    from tests.dispute_world import awb, billing_file

    s, engine = world
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="rate", amount="100.00",
                                today=dt.date(2026, 12, 4))
    pcs = dict(weight_pc="P", valuation_pc="P", oc_carrier_pc="P", oc_agent_pc="P",
               taxes_pc="P", correction_number="LH0001", reason="RATE CORRECTED")
    day = dt.date(2026, 11, 10)
    original = {**awb(AWB1, A1, day, weight_pp=100000, oc_carrier_pp=5000, commission=5000),
                **pcs, "record_type": "DCO"}
    revised = {**original, "record_type": "DCR", "weight_pp": 90000}
    path = billing_file(ReferenceData.from_db(engine), tmp_path, "2026-12", [original, revised],
                        number=2)
    r = land_and_ingest(s, engine, path, resolve(engine, LH))
    assert (r.verdict, r.counts["accepted"]) == ("accepted", 2), r.codes
    d = service.show(engine, service.OPERATOR, did)
    assert d["status"] == "RAISED"  # the airline's own DCM does not decide it
    assert d["history"][-1]["action"] == "airline-correction"
    assert d["history"][-1]["detail"] == {"file_id": r.file_id, "correction_number": "LH0001"}


def test_the_settlement_delivery_puts_the_dispute_report_in_both_outboxes(world):
    """The settlement DAG's Excel delivery writes each party's dispute report of the period
    (the on-demand `casslink disputes report` makes the same files)."""
    from casslink.app import tasks

    s, engine = world
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="rate", amount="120.00",
                                today=dt.date(2026, 12, 4))
    settled = tasks.settle({"operation": "DE", "period": "2026-11"}, settings=s)
    for party in (A1, LH):
        assert not (home_of(s, party) / "outbox" / f"DISPUTES_DE_2026-11_{party}.csv").exists()
    tasks.deliver_outputs(settled, "hot", settings=s)  # not with the HOT run
    assert not (home_of(s, A1) / "outbox" / f"DISPUTES_DE_2026-11_{A1}.csv").exists()
    tasks.deliver_outputs(settled, "xlsx", settings=s)
    for party in (A1, LH):
        folder = home_of(s, party) / "outbox"
        rows = list(csv.DictReader(io.StringIO(
            (folder / f"DISPUTES_DE_2026-11_{party}.csv").read_text())))
        assert [(r["Dispute"], r["Status"], r["Claimed"]) for r in rows] == [
            (str(did), "Raised", "120.00")]
        assert (folder / f"DISPUTES_DE_2026-11_{party}.xlsx").stat().st_size > 0
    other = home_of(s, A2) / "outbox" / f"DISPUTES_DE_2026-11_{A2}.csv"
    assert not other.exists()  # A2 has no dispute: no report
