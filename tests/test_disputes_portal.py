"""Disputes over the API and the portal pages (TestClient): raise as the agent, IDOR for
another agent, the airline's inbox and bulk acceptance, the live panel, attachments by
content, token scopes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casslink import access
from casslink.db.engine import session_scope
from casslink.db.models import User
from tests.dispute_world import A1, AWB1, LH, client, portal_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def world(system, tmp_path):
    return portal_world(*system, tmp_path)


def test_api_and_pages_raise_decide_adjust(world):
    agent, other, airline = (client(world, x) for x in ("fw-admin", "other-agent",
                                                         "lh-admin"))
    r = agent.post("/api/v1/disputes", json={"agent": A1, "airline": LH,
                                              "awb": f"{LH}-{AWB1}", "reason": "rate",
                                              "amount": "120.00", "text": "contract rate"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["status"], d["kind"], d["claimed_minor"]) == ("RAISED", "correction", 12000)
    did = d["id"]
    # another agent: the dispute does not exist for them
    assert other.get(f"/api/v1/disputes/{did}").status_code == 404
    assert other.post(f"/api/v1/disputes/{did}/decision",
                      json={"accept": True}).status_code == 404
    assert other.get("/api/v1/disputes").json() == []
    assert f'data-dispute="{did}"' not in other.get("/disputes").text
    # the agent cannot decide its own dispute
    assert agent.post(f"/api/v1/disputes/{did}/decision",
                      json={"accept": True}).status_code == 403
    # a comment and an attachment checked by content
    assert agent.post(f"/api/v1/disputes/{did}/comments",
                      json={"text": "see the contract"}).status_code == 200
    up = agent.post(f"/api/v1/disputes/{did}/attachments",
                    files={"file": ("contract.png", PNG, "image/png")})
    assert up.status_code == 201 and up.json()["media_type"] == "image/png"
    fake = agent.post(f"/api/v1/disputes/{did}/attachments",
                      files={"file": ("contract.pdf", b"not a pdf", "application/pdf")})
    assert fake.status_code == 409 and "PDF, PNG or JPEG" in fake.json()["detail"]
    # the airline's inbox lists it with a box to tick; the bulk form accepts it
    inbox = airline.get("/disputes?status=RAISED").text
    assert f'name="ids" value="{did}"' in inbox
    rows = airline.get("/disputes/rows").text  # the partial htmx polls
    assert f'data-dispute="{did}" data-status="RAISED"' in rows
    bulk = airline.post("/disputes/bulk", data={"ids": [str(did)], "action": "accept",
                                                "text": "agreed"})
    assert bulk.status_code == 200 and f"#{did}: Adjusted" in bulk.text
    panel = agent.get(f"/disputes/{did}/panel").text
    assert 'data-status="ADJUSTED">Adjusted<' in panel and "CCA CP0001 · 2026-12" in panel
    shown = agent.get(f"/api/v1/disputes/{did}").json()
    assert [h["action"] for h in shown["history"]] == [
        "raised", "comment", "attached", "accepted", "adjustment-landed", "adjusted"]


def test_form_errors_and_token_scopes(world):
    agent = client(world, "fw-admin")
    late = world[2]
    late.state.dispute_today = lambda: dt.date(2026, 12, 26)
    r = agent.post("/disputes", data={"agent": A1, "airline": LH, "awb": f"{LH}-{AWB1}",
                                      "reason": "rate", "amount": "1.00"})
    assert r.status_code == 409 and "until 2026-12-25" in r.text
    _, engine, app = world
    with session_scope(engine) as s:
        token = access.issue_token(s, s.scalars(select(User).where(
            User.login == "fw-admin")).one(), ["view"], "read only")
    bearer = TestClient(app)
    bearer.headers["Authorization"] = f"Bearer {token}"
    assert bearer.get("/api/v1/disputes").status_code == 200
    assert bearer.post("/api/v1/disputes", json={
        "agent": A1, "airline": LH, "awb": f"{LH}-{AWB1}", "reason": "rate",
        "amount": "1.00"}).status_code == 403


def test_pages_speak_the_users_language(world):
    c = client(world, "fw-admin")
    c.headers["Accept-Language"] = "de-DE,de;q=0.9"
    page = c.get("/disputes").text
    assert "Reklamation einreichen" in page and "Konto" in page  # disputes + portal catalogs
    c.headers["Accept-Language"] = "ja"
    assert "異議を申し立てる" in c.get("/disputes/new").text
    # statuses, reasons and history events are translated too; the code stays in data-status
    r = c.post("/api/v1/disputes", json={"agent": A1, "airline": LH, "awb": f"{LH}-{AWB1}",
                                         "reason": "rate", "amount": "120.00"})
    did = r.json()["id"]
    panel = c.get(f"/disputes/{did}/panel").text
    assert 'data-status="RAISED">申立て済み<' in panel
    assert "rate · 適用運賃の誤り" in panel and "<td>申立て済み</td>" in panel
    rows = c.get("/disputes/rows").text
    assert ">申立て済み</span>" in rows and '<td data-reason="rate">適用運賃の誤り</td>' in rows
    when = re.search(r"<tr><td>([^<]*)</td><td>fw-admin</td>", panel).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when)  # date and minute, no ISO "T"
    assert '<option value="PARTLY_ACCEPTED">一部承認</option>' in c.get("/disputes").text
    c.headers["Accept-Language"] = "de"
    lines = c.get("/lines", params={"operation": "DE", "period": "2026-11", "agent": A1,
                                    "airline": LH}).text
    assert f'data-status="RAISED"><a href="/disputes/{did}">#{did}</a> Eingereicht<' in lines
