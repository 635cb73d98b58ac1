"""Company admins, settings, tokens, statements and the consolidated view through the portal:
admins act only within their own grants and company, every action is audited (never a
secret), settlement delivery honours the settings, statements link the delivered files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casslink.app.ingest import land_and_ingest
from casslink.app.synthetic.generator import generate_billing
from casslink.db.engine import session_scope
from casslink.db.models import AuditEntry, Delivery, Participant, User
from casslink.outputs.deliver import deliver_run
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.portal.app import create_app
from casslink.settlement.run import settle
from tests.portal_world import (
    AF,
    DE_AGENT,
    IN_AGENT,
    LH,
    OTHER_AGENT,
    PASSWORD,
    csrf_of,
    populate,
    sign_in,
)

NEW_PW = "another-password-5678"
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl "
       "test@example")


@pytest.fixture
def world(system):
    settings, engine = system
    populate(engine)
    return settings, engine, create_app(settings, engine=engine)


def _client(app, login: str) -> TestClient:
    c = TestClient(app)
    assert sign_in(c, login).status_code == 303
    c.headers["X-CSRF-Token"] = csrf_of(c)
    return c


def test_company_admin_creates_a_user_who_signs_in(world) -> None:
    _, engine, app = world
    fw = _client(app, "fw-admin")
    r = fw.post("/api/v1/admin/users", json={"login": "fw-clerk", "password": NEW_PW,
                                             "grants": {IN_AGENT: ["view", "upload"]}})
    assert r.status_code == 201, r.text
    assert r.json()["grants"] == [{"participant": IN_AGENT, "operation": "IN",
                                   "rights": ["view", "upload"]}]
    clerk = TestClient(app)
    assert sign_in(clerk, "fw-clerk", NEW_PW).status_code == 303
    me = clerk.get("/api/v1/me").json()
    assert [g["participant"] for g in me["grants"]] == [IN_AGENT]
    assert me["company"]["name"] == "Rhein Air Logistik GmbH"
    with session_scope(engine) as s:
        e = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).one()
        assert (e.actor_login, e.target) == ("fw-admin", "fw-clerk")
        assert NEW_PW not in e.detail
        fw_company = s.scalars(select(User.company_id).where(User.login == "fw-admin")).one()
        assert e.company_id == fw_company


def test_admins_stay_within_their_own_grants(world) -> None:
    _, _, app = world
    fw = _client(app, "fw-admin")
    for grants in ({OTHER_AGENT: ["view"]}, {LH: ["view"]}):
        r = fw.post("/api/v1/admin/users", json={"login": "sneaky", "password": NEW_PW,
                                                 "grants": grants})
        assert r.status_code == 403
    lh = _client(app, "lh-admin")
    # lh-admin may not touch users of another company, nor see them
    assert lh.post("/api/v1/admin/users/fw-admin/disable").status_code == 404
    assert lh.post("/api/v1/admin/users/other-agent/password",
                   json={"password": NEW_PW}).status_code == 404
    assert {u["login"] for u in lh.get("/api/v1/admin/users").json()} == {
        "lh-admin", "lh-clerk", "nogrant"}
    # a non-admin is no admin at all
    clerk = _client(app, "lh-clerk")
    assert clerk.get("/api/v1/admin/users").status_code == 403
    assert clerk.get("/api/v1/admin/audit").status_code == 403
    assert clerk.post("/api/v1/admin/users", json={"login": "x-y", "password": NEW_PW,
                                                   "grants": {LH: ["view"]}}).status_code == 403
    # lh-clerk holds view+upload: granting beyond an admin's own rights on 020 is refused
    # for a user whose admin lacks them - lh-admin has all, so it may give finance
    r = lh.put("/api/v1/admin/users/lh-clerk/grants", json={"participant": LH,
                                                            "rights": ["view", "finance"]})
    assert r.status_code == 200 and r.json()["grants"][0]["rights"] == ["view", "finance"]
    assert lh.put("/api/v1/admin/users/lh-clerk/grants",
                  json={"participant": AF, "rights": ["view"]}).status_code == 403


def test_disable_reset_password_add_key_and_audit(world) -> None:
    _, _engine, app = world
    lh = _client(app, "lh-admin")
    clerk = TestClient(app)
    sign_in(clerk, "lh-clerk")
    assert lh.post("/api/v1/admin/users/lh-clerk/password",
                   json={"password": "short"}).status_code == 422
    assert lh.post("/api/v1/admin/users/lh-clerk/password",
                   json={"password": NEW_PW}).status_code == 200
    assert sign_in(TestClient(app), "lh-clerk", PASSWORD).status_code == 401
    assert sign_in(TestClient(app), "lh-clerk", NEW_PW).status_code == 303
    assert lh.post("/api/v1/admin/users/lh-clerk/keys", json={"key": "nope"}).status_code == 422
    assert lh.post("/api/v1/admin/users/lh-clerk/keys",
                   json={"key": KEY}).json()["keys"] == 1
    assert lh.post("/api/v1/admin/users/lh-admin/disable").status_code == 422  # not oneself
    assert lh.post("/api/v1/admin/users/lh-clerk/disable").json()["disabled"] is True
    assert clerk.get("/api/v1/me").status_code == 401  # its session ends
    assert lh.put("/api/v1/admin/users/lh-clerk/grants",
                  json={"participant": LH, "rights": []}).json()["grants"] == []
    log = lh.get("/api/v1/admin/audit").json()
    assert [e["action"] for e in log] == ["grant.revoke", "user.disable", "user.key_add",
                                          "user.password_reset"]
    assert NEW_PW not in json.dumps(log) and "AAAAC3" not in json.dumps(log)
    ops = _client(app, "ops")
    assert len(ops.get("/api/v1/admin/audit").json()) == 4
    fw = _client(app, "fw-admin")
    assert fw.get("/api/v1/admin/audit").json() == []  # another company's log


def test_admin_pages_create_a_user(world) -> None:
    _, _, app = world
    lh = _client(app, "lh-admin")
    page = lh.get("/admin/users").text
    assert 'id="new-user"' in page and "lh-clerk" in page and "fw-admin" not in page
    r = lh.post("/admin/users", data={"login": "lh-new", "password": NEW_PW,
                                      "participant": LH, "rights": ["view", "upload"],
                                      "csrf": csrf_of(lh)}, follow_redirects=False)
    assert r.status_code == 303
    assert sign_in(TestClient(app), "lh-new", NEW_PW).status_code == 303
    assert "user.create" in lh.get("/admin/audit").text


def test_settings_are_validated_audited_and_respected_by_delivery(world, ref, tmp_path) -> None:
    settings, engine, app = world
    lh = _client(app, "lh-admin")
    assert lh.get("/api/v1/settings", params={"participant": LH}).json()["outputs"] == [
        "hot", "xlsx", "xml", "pdf", "ubl"]  # nothing chosen: everything, invoices too
    bad = [{"outputs": ["pdf"]}, {"outputs": []}, {"outputs": ["hot", "doc"]},
           {"outputs": ["hot", "xml"]},  # no invoice format: invoices are legal documents
           {"outputs": ["hot"], "language": "xx"},
           {"outputs": ["hot"], "contact_email": "not-an-email"}]
    for body in bad:
        assert lh.put("/api/v1/settings", params={"participant": LH},
                      json=body).status_code == 422
    r = lh.put("/api/v1/settings", params={"participant": LH},
               json={"outputs": ["xml", "ubl"], "language": "de",
                     "contact_email": "ops@lh.example"})
    assert r.json() == {"participant": LH, "outputs": ["xml", "ubl"], "available_outputs":
                        ["hot", "xlsx", "xml", "pdf", "ubl"], "language": "de",
                        "contact_email": "ops@lh.example"}
    clerk = _client(app, "lh-clerk")
    assert clerk.put("/api/v1/settings", params={"participant": LH},
                     json={"outputs": ["hot", "pdf"]}).status_code == 403
    # settle DE 2026-11 with one LH file: 020 receives only XML, the agents everything
    gen = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 200,
                                           seed=5) if f.airline_prefix == LH)
    path = tmp_path / "lh.hot"
    path.write_bytes(write_hot(gen.header, gen.records, gen.charges))
    assert land_and_ingest(settings, engine, path, resolve(engine, LH)).verdict == "accepted"
    result = settle(settings, engine, "DE", "2026-11")
    deliver_run(settings, engine, result.run_id, Path(result.ledger_dir))
    with session_scope(engine) as s:
        kinds = s.scalars(select(Delivery.kind).where(Delivery.participant_code == LH)).all()
        agent = gen.records.column("agent_code")[0].as_py()
        agent_kinds = s.scalars(select(Delivery.kind).where(
            Delivery.participant_code == agent)).all()
    assert sorted(kinds) == ["settlement-xml"]  # not even the tax report (an Excel report)
    assert sorted(agent_kinds) == ["billing-hot", "statement-xlsx", "statement-xml",
                                   "tax-report-csv", "tax-report-xlsx"]  # no choice: all

    # the statement of 020 lists the period, its net per currency and the XML to download
    st = lh.get("/api/v1/statements", params={"participant": LH}).json()["statements"]
    assert [(x["operation"], x["period"], x["role"]) for x in st] == [
        ("DE", "2026-11", "settlement")]
    assert [f["kind"] for f in st[0]["files"]] == ["settlement-xml"]
    body = lh.get(st[0]["files"][0]["url"])
    assert body.status_code == 200 and body.content.startswith(b"<?xml")
    assert sum(t["records"] for t in st[0]["totals"]) == gen.records.num_rows
    other = _client(app, "af-user")
    assert other.get(st[0]["files"][0]["url"]).status_code == 404
    assert other.get("/api/v1/statements", params={"participant": LH}).status_code == 403
    assert "settlement-xml" in lh.get("/statements").text
    # each file downloads with its own media type (an operator sees the agent's)
    ops = _client(app, "ops")
    agent_st = ops.get("/api/v1/statements", params={"participant": agent}).json()
    urls = {f["kind"]: f["url"] for f in agent_st["statements"][0]["files"]}
    csv = ops.get(urls["tax-report-csv"])
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert ops.get(urls["billing-hot"]).headers["content-type"].startswith("text/plain")


def test_the_settings_form_requires_an_invoice_format(world) -> None:
    """Saved without PDF and UBL, the form comes back as sent with the reason in the user's
    language; nothing is stored. Settings saved before the choice existed show both invoice
    formats, as delivered (casslink.outputs.invoices.deliver)."""
    _, engine, app = world
    lh = _client(app, "lh-admin")
    with session_scope(engine) as s:  # saved before invoice formats were a choice
        s.scalars(select(Participant).where(Participant.code == LH)).one().output_formats = (
            "hot,xml")
    assert lh.get("/api/v1/settings", params={"participant": LH}).json()["outputs"] == [
        "hot", "xml", "pdf", "ubl"]
    page = lh.get("/settings", params={"participant": LH}).text
    assert 'value="ubl" checked' in page and 'value="xlsx" checked' not in page
    for language, reason in (
            ("en", "Choose at least one invoice format (PDF or UBL): invoices are legal "
                   "documents."),
            ("ja", "請求書の形式を少なくとも1つ選択してください（PDF または UBL）。"
                   "請求書は法的文書です。")):
        r = lh.post("/settings", params={"participant": LH},
                    headers={"Accept-Language": language},
                    data={"outputs": ["hot", "xlsx"], "contact_email": "ops@lh.example",
                          "csrf": csrf_of(lh)}, follow_redirects=False)
        assert r.status_code == 422 and reason in r.text
        assert 'value="xlsx" checked' in r.text and 'value="pdf" checked' not in r.text
    with session_scope(engine) as s:
        part = s.scalars(select(Participant).where(Participant.code == LH)).one()
        assert (part.output_formats, part.contact_email) == ("hot,xml", None)
    r = lh.post("/settings", params={"participant": LH},
                data={"outputs": ["hot", "xlsx", "pdf"], "csrf": csrf_of(lh)},
                follow_redirects=False)
    assert r.status_code == 303
    with session_scope(engine) as s:
        assert s.scalars(select(Participant.output_formats).where(
            Participant.code == LH)).one() == "hot,xlsx,pdf"


def test_tokens_from_the_api_and_the_settings_page(world) -> None:
    _, _, app = world
    lh = _client(app, "lh-admin")
    r = lh.post("/api/v1/tokens", json={"name": "erp", "scopes": ["view", "upload"]})
    assert r.status_code == 201
    token = r.json()["token"]
    listed = lh.get("/api/v1/tokens").json()
    assert [(t["name"], t["scopes"], t["revoked"]) for t in listed] == [
        ("erp", ["view", "upload"], False)]
    assert token not in json.dumps(listed)
    api = TestClient(app)
    h = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=h).json()["token_scopes"] == ["upload", "view"]
    assert api.get("/api/v1/admin/users", headers=h).status_code == 403  # scope, not role
    assert api.post("/api/v1/tokens", headers=h,
                    json={"name": "x", "scopes": ["view"]}).status_code == 403
    page = lh.post("/tokens", data={"name": "ci", "scopes": ["view"], "csrf": csrf_of(lh)})
    assert 'id="new-token"' in page.text and "csl_" in page.text
    assert lh.delete(f"/api/v1/tokens/{listed[0]['id']}").status_code == 204
    assert api.get("/api/v1/me", headers=h).status_code == 401
    assert lh.delete(f"/api/v1/tokens/{listed[0]['id']}").status_code == 404


def test_consolidated_view_keeps_currencies_apart(world, ref, tmp_path) -> None:
    settings, engine, app = world
    # files of an airline in DE (EUR) and IN (INR) put totals on both agents of fw-admin
    for op, period in (("DE", "2026-11"), ("IN", "2026-11-2")):
        for f in generate_billing(ref, op, ref.period(op, period), 300, seed=7):
            path = tmp_path / f"{op}_{f.airline_prefix}.hot"
            path.write_bytes(write_hot(f.header, f.records, f.charges))
            land_and_ingest(settings, engine, path, resolve(engine, f.airline_prefix))
    fw = _client(app, "fw-admin")
    data = fw.get("/api/v1/consolidated").json()
    assert {r["participant"] for r in data["participants"]} <= {DE_AGENT, IN_AGENT}
    by_cur: dict[str, int] = {}
    for r in data["participants"]:
        by_cur[r["currency"]] = by_cur.get(r["currency"], 0) + r["net"]
    assert {t["currency"]: t["net"] for t in data["totals"]} == by_cur
    assert {"EUR", "INR"} <= set(by_cur)  # two currencies, never one sum
    for code in (DE_AGENT, IN_AGENT):
        live = fw.get("/api/v1/periods/current", params={"participant": code}).json()
        nets = {}
        for per in live["periods"]:
            for t in per["totals"]:
                nets[t["currency"]] = nets.get(t["currency"], 0) + t["net"]
        mine = {}
        for r in data["participants"]:
            if r["participant"] == code:
                mine[r["currency"]] = mine.get(r["currency"], 0) + r["net"]
        assert nets == mine
    assert "consolidated-totals" in fw.get("/consolidated").text


def test_every_page_answers_for_its_user_and_the_forms_work(world) -> None:
    from fastapi.routing import APIRoute

    _, _, app = world
    lh = _client(app, "lh-admin")
    pages = sorted(r.path for r in app.routes if isinstance(r, APIRoute)
                   and "GET" in r.methods and "{" not in r.path
                   and not r.path.startswith("/api/v1"))
    partials = {"/disputes/rows", "/payments/live"}  # htmx fragments of a page
    for path in pages:
        r = lh.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert (path in partials) != ('<html lang="en">' in r.text), path
    docs = lh.get("/api/docs").text
    assert "/api/v1/files" in docs and "``" not in docs
    # the header's placeholder shows (escaped), in every language, not swallowed as a tag
    assert "Authorization: Bearer &lt;token&gt;." in docs
    ja = lh.get("/api/docs", headers={"Accept-Language": "ja"}).text
    assert "Bearer &lt;token&gt; として" in ja
    token = csrf_of(lh)
    post = lambda url, **data: lh.post(url, data={**data, "csrf": token},
                                       follow_redirects=False)
    assert post("/settings", outputs=["hot", "xlsx", "ubl"], language="fr",
                contact_email="a@b.example").status_code == 303
    assert lh.get("/api/v1/settings", params={"participant": LH}).json()["outputs"] == [
        "hot", "xlsx", "ubl"]
    assert post("/admin/users/lh-clerk/password", password=NEW_PW).status_code == 303
    assert post("/admin/users/lh-clerk/keys", key=KEY).status_code == 303
    assert post("/admin/users/lh-clerk/grants", participant=LH,
                rights=["view"]).status_code == 303
    assert post("/admin/users/lh-clerk/disable").status_code == 303
    users = {u["login"]: u for u in lh.get("/api/v1/admin/users").json()}
    assert users["lh-clerk"]["disabled"] and users["lh-clerk"]["keys"] == 1
    assert users["lh-clerk"]["grants"][0]["rights"] == ["view"]
    page = lh.post("/tokens", data={"name": "t1", "scopes": ["view"], "csrf": token})
    tid = lh.get("/api/v1/tokens").json()[0]["id"]
    assert "csl_" in page.text
    assert "revoked" in post(f"/tokens/{tid}/revoke").text
    fw = _client(app, "fw-admin")
    r = fw.post("/switch", data={"participant": IN_AGENT, "next": "/files",
                                 "csrf": csrf_of(fw)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/files"
    assert f"Files · {IN_AGENT}" in fw.get("/files").text


def test_rights_and_kinds_are_words_of_the_users_language(world) -> None:
    """The account, users and tokens pages name rights and kinds in the page's language,
    while the forms still post the codes."""
    _settings, _engine, app = world
    lh = _client(app, "lh-admin")
    ja = {"Accept-Language": "ja"}
    me = lh.get("/me", headers=ja).text
    assert "<td>航空会社</td><td>管理, 異議を申し立てる, 財務, アップロード, 閲覧</td>" in me
    users = lh.get("/admin/users", headers=ja).text
    assert "020: 閲覧, アップロード</div>" in users  # lh-clerk
    assert '<input type="checkbox" name="rights" value="finance"> 財務</label>' in users
    tokens = lh.get("/tokens", headers=ja).text
    assert 'name="scopes" value="view" checked> 閲覧</label>' in tokens
    assert "upload, view" not in me + users + tokens
    assert "Administration, Dispute, Finance, Upload, View" in lh.get("/me").text
