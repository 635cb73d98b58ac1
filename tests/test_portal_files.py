"""Files and the real-time period view through the portal: an upload lands, registers and is
ingested like an SFTP upload; its ack downloads; the period totals it adds (in the ingest
commit) match sums computed by hand from the generated records; sandbox files add nothing."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casslink.app.ingest import ingest_file
from casslink.app.synthetic.generator import generate_billing
from casslink.canonical import NET_TERMS, agent_net
from casslink.db.engine import session_scope
from casslink.db.models import LandedFile, PeriodTotal
from casslink.parsers.hot import write_hot
from casslink.portal.app import create_app
from casslink.validators.ack import parse_fixed
from tests.portal_world import AF, DE_AGENT, LH, csrf_of, populate, sign_in


@pytest.fixture(scope="module")
def lh_file(ref, tmp_path_factory):
    """A clean DE 2026-11 billing file of airline 020 and its generated records."""
    out = tmp_path_factory.mktemp("portal-files")
    gen = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 400,
                                           seed=24) if f.airline_prefix == LH)
    path = out / f"{LH}_DE_2026-11_01.hot"
    path.write_bytes(write_hot(gen.header, gen.records, gen.charges))
    return path, gen


@pytest.fixture
def portal(system):
    settings, engine = system
    populate(engine)
    notified: list[int] = []

    def notify(file_id: int) -> None:  # what the ingest DAG runs for the file
        notified.append(file_id)
        ingest_file(settings, engine, file_id)

    app = create_app(settings, engine=engine, notify=notify)
    return settings, engine, app, notified


def _expected_by_agent(records) -> dict[str, dict]:
    """Per agent (one currency each here): records and net, summed row by row."""
    out: dict[str, dict] = defaultdict(lambda: {"records": 0, "net": 0,
                                                **dict.fromkeys(NET_TERMS, 0)})
    for r in records.to_pylist():
        sign = -1 if r["record_type"] in ("CCO", "DCO") else 1  # revised - original
        acc = out[(r["agent_code"], r["currency"])]
        acc["records"] += 1
        acc["net"] += sign * agent_net(r)
        for c in NET_TERMS:
            acc[c] += sign * int(r[c] or 0)
    return out


def test_upload_is_landed_ingested_acked_and_totalled(portal, lh_file) -> None:
    _settings, engine, app, notified = portal
    path, gen = lh_file
    c = TestClient(app)
    sign_in(c, "lh-admin")
    r = c.post("/api/v1/files", files={"file": (path.name, path.read_bytes())},
               data={"participant": LH}, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert notified == [fid] and r.json()["channel"] == "inbox"
    with session_scope(engine) as s:
        row = s.get(LandedFile, fid)
        assert (row.user_login, row.original_name, row.state, row.verdict) == (
            "lh-admin", path.name, "archived", "accepted")
    f = c.get(f"/api/v1/files/{fid}").json()
    assert f["verdict"] == "accepted" and f["records"] == gen.records.num_rows
    assert f["billed_period"] == "2026-11" and f["ack"] == f"/api/v1/files/{fid}/ack"
    ack = c.get(f["ack"])
    assert ack.status_code == 200
    header = parse_fixed(ack.content)["header"]
    assert (header["file_id"], header["verdict"]) == (fid, "accepted")
    assert header["sha256"] == f["sha256"]
    assert [x["id"] for x in c.get("/api/v1/files", params={"participant": LH}).json()] == [fid]

    # real-time totals: per agent, as summed by hand from the generated rows
    want = _expected_by_agent(gen.records)
    live = c.get("/api/v1/periods/current", params={"participant": LH}).json()
    per = next(p for p in live["periods"] if (p["operation"], p["period"]) == ("DE", "2026-11"))
    got = {(row["counterpart"], row["currency"]): row for row in per["rows"]}
    assert set(got) == set(want)
    for key, exp in want.items():
        assert {k: got[key][k] for k in exp} == exp, key
    for t in per["totals"]:  # per currency, never across currencies
        assert t["net"] == sum(v["net"] for (_, cur), v in want.items() if cur == t["currency"])

    # the agent's own view of the same period: one row, airline 020
    agent, cur = next(iter(sorted(want)))
    with session_scope(engine) as s:
        rows = s.scalars(select(PeriodTotal).where(PeriodTotal.agent_code == agent)).all()
        assert [(r.airline_prefix, r.net, r.files) for r in rows] == [
            (LH, want[(agent, cur)]["net"], 1)]


def test_sandbox_upload_adds_nothing_to_the_period(portal, lh_file) -> None:
    _settings, engine, app, _ = portal
    path, _gen = lh_file
    c = TestClient(app)
    sign_in(c, "lh-clerk")
    r = c.post("/api/v1/files", files={"file": (path.name, path.read_bytes())},
               data={"participant": LH, "sandbox": "true"},
               headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 201 and r.json()["channel"] == "sandbox"
    f = c.get(f"/api/v1/files/{r.json()['id']}").json()
    assert f["state"] == "archived" and f["billed_period"] is None
    with session_scope(engine) as s:
        assert s.scalars(select(PeriodTotal)).all() == []


def test_upload_needs_the_upload_right_and_files_stay_private(portal, lh_file) -> None:
    _settings, _engine, app, notified = portal
    path, _gen = lh_file
    c = TestClient(app)
    sign_in(c, "lh-admin")
    fid = c.post("/api/v1/files", files={"file": (path.name, path.read_bytes())},
                 data={"participant": LH}, headers={"X-CSRF-Token": csrf_of(c)}).json()["id"]
    other = TestClient(app)
    sign_in(other, "af-user")
    for url in (f"/api/v1/files/{fid}", f"/api/v1/files/{fid}/ack"):
        assert other.get(url).status_code == 404
    assert other.get("/api/v1/files").json() == []
    assert other.get("/api/v1/files", params={"participant": LH}).status_code == 403
    r = other.post("/api/v1/files", files={"file": ("x.hot", b"data")},
                   data={"participant": LH}, headers={"X-CSRF-Token": csrf_of(other)})
    assert r.status_code == 403 and len(notified) == 1
    assert other.get("/api/v1/periods/current", params={"participant": LH}).status_code == 403
    assert other.get("/api/v1/periods/current", params={"participant": AF}).status_code == 200


def test_upload_page_shows_the_file_and_its_ack(portal, lh_file) -> None:
    _settings, _engine, app, _ = portal
    path, _gen = lh_file
    c = TestClient(app)
    sign_in(c, "lh-admin")
    page = c.get("/files").text
    assert 'id="upload-form"' in page
    r = c.post("/files", files={"file": (path.name, path.read_bytes())},
               data={"csrf": csrf_of(c)}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and path.name in r.text and "/ack" in r.text
    assert "accepted" in r.text
    live = c.get("/periods/current").text
    assert "DE 2026-11" in live and "data-kpi=\"net-EUR\"" in live


def test_live_view_shows_the_next_period_once_the_current_one_is_closed(
        portal, lh_file, monkeypatch) -> None:
    """Settled early (as ``casslink run``'s demo does), the calendar's current period is
    closed; the files that follow are billed to the next one, which has not started yet. The
    live and consolidated views show it, with what it accepted, not 'No open period'."""
    import datetime as dt

    from sqlalchemy import update

    from casslink.db.models import BillingPeriod
    from casslink.portal.routes import periods

    _settings, engine, app, _ = portal
    path, gen = lh_file
    monkeypatch.setattr(periods, "_today", lambda: dt.date(2026, 11, 10))  # in DE 2026-11
    with session_scope(engine) as s:
        s.execute(update(BillingPeriod).where(BillingPeriod.operation_code == "DE",
                                              BillingPeriod.period_id == "2026-11")
                  .values(status="closed"))
    c = TestClient(app)
    sign_in(c, "lh-admin")
    fw = TestClient(app)
    sign_in(fw, "fw-admin")  # its DE agent: the next DE period, empty so far
    before = fw.get("/api/v1/periods/current", params={"participant": DE_AGENT}).json()
    assert [(p["operation"], p["period"], p["totals"]) for p in before["periods"]] == [
        ("DE", "2026-12", [])]
    fid = c.post("/api/v1/files", files={"file": (path.name, path.read_bytes())},
                 data={"participant": LH}, headers={"X-CSRF-Token": csrf_of(c)}).json()["id"]
    assert c.get(f"/api/v1/files/{fid}").json()["billed_period"] == "2026-12"
    live = c.get("/api/v1/periods/current", params={"participant": LH}).json()
    assert [(p["operation"], p["period"]) for p in live["periods"]] == [("DE", "2026-12")]
    assert sum(t["records"] for t in live["periods"][0]["totals"]) == gen.records.num_rows
    assert "DE 2026-12" in c.get("/periods/current").text
    assert "No open period" not in c.get("/periods/current").text
    assert "2026-12" in c.get("/consolidated").text


def _page_rows(html: str) -> list[tuple[str, int]]:
    """The live page's table rows: (counterpart, records), sorted."""
    return sorted((code, int(re.sub(r"\D", "", records))) for code, records in re.findall(
        r'data-lines="(\w+)">\w+</a></td><td class="num">([^<]+)</td>', html))


def test_live_page_rows_follow_each_ingested_file(portal, lh_file, ref, tmp_path) -> None:
    """The page's rows are rendered once per language while the participant's totals are
    unchanged (routes/periods.py): each ingested file changes them, and the page shows the
    new rows at once, in the user's language."""
    from casslink.portal.routes import periods

    _settings, _engine, app, _ = portal
    path, _gen = lh_file
    more = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 400,
                                            seed=25, file_number=2) if f.airline_prefix == LH)
    path2 = tmp_path / f"{LH}_DE_2026-11_02.hot"
    path2.write_bytes(write_hot(more.header, more.records, more.charges))
    c = TestClient(app)
    sign_in(c, "lh-admin")
    assert _page_rows(c.get("/periods/current").text) == []
    seen = []
    for upload in (path, path2):
        r = c.post("/api/v1/files", files={"file": (upload.name, upload.read_bytes())},
                   data={"participant": LH}, headers={"X-CSRF-Token": csrf_of(c)})
        assert r.status_code == 201, r.text
        f = c.get(f"/api/v1/files/{r.json()['id']}").json()
        assert f["verdict"] == "accepted", f
        api = c.get("/api/v1/periods/current", params={"participant": LH}).json()
        [per] = [p for p in api["periods"] if (p["operation"], p["period"]) == ("DE", "2026-11")]
        assert 0 < len(per["rows"]) <= periods.PAGE_ROWS  # the page shows them all
        want = sorted((row["counterpart"], row["records"]) for row in per["rows"])
        for _ in range(2):  # rendered, then kept
            shown = _page_rows(c.get("/periods/current", headers={"HX-Request": "true"}).text)
            assert shown == want
        seen.append(shown)
    assert seen[0] != seen[1]
    # another language: its own rendering of the same rows
    assert c.post("/language", data={"language": "de", "next": "/periods/current",
                                     "csrf": csrf_of(c)}).status_code in (200, 303)
    de = c.get("/periods/current").text
    assert _page_rows(de) == seen[1] and '<html lang="de">' in de
    amounts = re.findall(r'<td class="num">([^<]+)</td></tr>', de)
    assert amounts and [a for a in amounts  # German: 1.234,56 €
                        if not re.fullmatch(r"-?[\d.]*\d,\d\d\xa0\S+", a)] == []
    assert any(k[1] == LH for k in periods._kept)
