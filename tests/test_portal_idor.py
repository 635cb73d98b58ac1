"""The authorization matrix: every route of the portal (enumerated from ``app.routes``, so a
new route without an entry here fails) is called by a user of another agent, of another
airline, and by a user with no grant, against airline 020's data. Each must be refused (403
or 404) - or, for a route about the caller's own data, answer without any of 020's data -
and 020's data must be unchanged afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from casslink import access
from casslink.app.ingest import ingest_file
from casslink.app.synthetic.generator import generate_billing
from casslink.db.engine import session_scope
from casslink.db.models import ApiToken, Delivery, LandedFile, Participant, User
from casslink.login_policy import LockoutRules
from casslink.outputs.deliver import deliver_run
from casslink.parsers.hot import write_hot
from casslink.portal.app import create_app
from casslink.reference import ReferenceData
from casslink.settlement.run import settle
from tests.conftest import REPO, reference_root
from tests.portal_world import DE_AGENT, LH, csrf_of, populate, sign_in

ATTACKERS = ("other-agent", "af-user", "nogrant")
SECRET_EMAIL = "secret-contact@lh.example"
VICTIM_FILE = "victim-020-secret.hot"
NEW_PW = "attacker-password-999"
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl "
       "attacker@example")
UPLOAD = {"file": ("x.hot", b"not a real file")}

# (method, path) -> list of (kind, request): "victim" requests aim at 020's data and must be
# refused (403/404); "own" and "public" ones may succeed but must not show 020's data.
MATRIX: dict[tuple[str, str], list[tuple[str, dict]]] = {
    ("GET", "/login"): [("public", {})],
    ("POST", "/login"): [("public", {"data": {"login": "lh-admin", "password": "guess-1234567"}})],
    ("POST", "/logout"): [("own", {})],
    ("POST", "/language"): [("own", {"data": {"language": "de"}})],
    ("POST", "/switch"): [("victim", {"data": {"participant": LH}})],
    ("GET", "/"): [("own", {})],
    ("GET", "/me"): [("own", {})],
    ("GET", "/api/v1/me"): [("own", {})],
    ("POST", "/api/v1/me/password"): [("own", {"json": {"current": "wrong-current-1",
                                                        "new": NEW_PW}})],
    ("POST", "/me/password"): [("own", {"data": {"current": "wrong-current-1",
                                                 "new": NEW_PW}})],
    ("GET", "/api/docs"): [("own", {})],
    ("GET", "/api/openapi.json"): [("public", {})],
    ("GET", "/static"): [("public", {"url": "/static/portal.css"})],
    ("GET", "/api/v1/files"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("POST", "/api/v1/files"): [("victim", {"files": UPLOAD, "data": {"participant": LH}})],
    ("GET", "/api/v1/files/{file_id}"): [("victim", {})],
    ("GET", "/api/v1/files/{file_id}/ack"): [("victim", {})],
    ("GET", "/files"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("POST", "/files"): [("victim", {"files": UPLOAD, "params": {"participant": LH}})],
    ("GET", "/api/v1/periods/current"): [("victim", {"params": {"participant": LH}})],
    ("GET", "/periods/current"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("GET", "/api/v1/statements"): [("victim", {"params": {"participant": LH}})],
    ("GET", "/api/v1/deliveries/{delivery_id}"): [("victim", {})],
    ("GET", "/statements"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("GET", "/api/v1/consolidated"): [("own", {})],
    ("GET", "/consolidated"): [("own", {})],
    ("GET", "/api/v1/settings"): [("victim", {"params": {"participant": LH}})],
    ("PUT", "/api/v1/settings"): [("victim", {"params": {"participant": LH},
                                              "json": {"outputs": ["hot"]}})],
    ("GET", "/settings"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("POST", "/settings"): [("victim", {"params": {"participant": LH},
                                        "data": {"outputs": ["hot"]}})],
    ("GET", "/api/v1/tokens"): [("own", {})],
    ("POST", "/api/v1/tokens"): [("own", {"json": {"name": "mine", "scopes": ["view"]}})],
    ("DELETE", "/api/v1/tokens/{token_id}"): [("victim", {})],
    ("GET", "/tokens"): [("own", {})],
    ("POST", "/tokens"): [("own", {"data": {"name": "mine", "scopes": ["view"]}})],
    ("POST", "/tokens/{token_id}/revoke"): [("victim", {})],
    ("GET", "/api/v1/admin/users"): [("own", {})],
    ("POST", "/api/v1/admin/users"): [("victim", {"json": {
        "login": "evil-user", "password": NEW_PW, "grants": {LH: ["view"]}}})],
    ("POST", "/api/v1/admin/users/{login}/disable"): [("victim", {})],
    ("PUT", "/api/v1/admin/users/{login}/grants"): [("victim", {"json": {
        "participant": LH, "rights": []}})],
    ("POST", "/api/v1/admin/users/{login}/password"): [("victim", {"json": {
        "password": NEW_PW}})],
    ("POST", "/api/v1/admin/users/{login}/keys"): [("victim", {"json": {"key": KEY}})],
    ("GET", "/api/v1/admin/audit"): [("own", {})],
    ("GET", "/admin/users"): [("own", {})],
    ("POST", "/admin/users"): [("victim", {"data": {"login": "evil-user", "password": NEW_PW,
                                                    "participant": LH,
                                                    "rights": ["view"]}})],
    ("POST", "/admin/users/{login}/disable"): [("victim", {})],
    ("POST", "/admin/users/{login}/grants"): [("victim", {"data": {"participant": LH,
                                                                   "rights": ["view"]}})],
    ("POST", "/admin/users/{login}/password"): [("victim", {"data": {"password": NEW_PW}})],
    ("POST", "/admin/users/{login}/keys"): [("victim", {"data": {"key": KEY}})],
    ("GET", "/admin/audit"): [("own", {})],
    # disputes (no dispute of 020 exists here: tests/test_disputes_portal.py has real ones)
    ("POST", "/api/v1/disputes"): [("victim", {"json": {
        "agent": DE_AGENT, "airline": LH, "awb": f"{LH}-12345675", "reason": "rate",
        "amount": "1.00"}})],
    ("GET", "/api/v1/disputes"): [("own", {}), ("own", {"params": {"airline": LH}})],
    ("GET", "/api/v1/disputes/{dispute_id}"): [("victim", {})],
    ("POST", "/api/v1/disputes/{dispute_id}/decision"): [("victim", {"json": {"accept": True}})],
    ("POST", "/api/v1/disputes/{dispute_id}/comments"): [("victim", {"json": {"text": "x"}})],
    ("POST", "/api/v1/disputes/{dispute_id}/withdraw"): [("victim", {"json": {"text": "x"}})],
    ("POST", "/api/v1/disputes/{dispute_id}/attachments"): [("victim", {"files": {
        "file": ("a.png", b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png")}})],
    ("GET", "/disputes"): [("own", {}), ("own", {"params": {"airline": LH}})],
    ("GET", "/disputes/rows"): [("own", {"params": {"airline": LH}})],
    ("GET", "/disputes/new"): [("own", {})],
    ("POST", "/disputes"): [("own", {"data": {"agent": DE_AGENT, "airline": LH,
                                              "awb": f"{LH}-12345675", "reason": "rate"}})],
    ("GET", "/disputes/{dispute_id}"): [("victim", {})],
    ("GET", "/disputes/{dispute_id}/panel"): [("victim", {})],
    ("POST", "/disputes/{dispute_id}/decision"): [("victim", {"data": {"action": "accept"}})],
    ("POST", "/disputes/{dispute_id}/comments"): [("victim", {"data": {"text": "x"}})],
    ("POST", "/disputes/{dispute_id}/withdraw"): [("victim", {"data": {}})],
    ("POST", "/disputes/bulk"): [("own", {"data": {"ids": ["1"], "action": "accept"}})],
    # a pair's billed lines (portal/routes/lines.py): 404 unless the user sees one side
    ("GET", "/lines"): [("victim", {"params": {"operation": "DE", "period": "2026-11",
                                               "airline": LH, "agent": DE_AGENT}})],
    # payments (portal/routes/payments.py; real payment data in tests/test_portal_payments.py)
    ("GET", "/api/v1/payments"): [("victim", {"params": {"participant": LH}}),
                                  ("victim", {"params": {"participant": DE_AGENT}}),
                                  ("own", {})],
    ("GET", "/api/v1/agents/{code}/status"): [("victim", {})],
    ("POST", "/api/v1/payments/options"): [("victim", {"json": {
        "participant": DE_AGENT, "operation": "DE", "period": "2026-11",
        "option": "transfer"}})],
    ("POST", "/api/v1/payments/match"): [("victim", {"json": {"entry_id": 1,
                                                              "reference": "RF10DE"}})],
    ("GET", "/payments"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("GET", "/payments/live"): [("victim", {"params": {"participant": LH}}), ("own", {})],
    ("POST", "/payments/options"): [("victim", {"data": {
        "agent": DE_AGENT, "operation": "DE", "period": "2026-11", "option": "transfer"}})],
    ("POST", "/payments/match"): [("victim", {"data": {"entry_id": "1",
                                                       "reference": "RF10DE"}})],
    ("POST", "/payments/reinstate"): [("victim", {"data": {"agent": DE_AGENT,
                                                           "operation": "DE",
                                                           "reason": "x"}})],
}


def app_routes(app) -> set[tuple[str, str]]:
    out = set()
    for r in app.routes:
        if isinstance(r, APIRoute):
            out |= {(m, r.path) for m in r.methods}
        elif isinstance(r, Mount):
            out.add(("GET", r.path))
        else:  # openapi.json and the like
            out |= {(m, r.path) for m in (getattr(r, "methods", None) or {"GET"}) - {"HEAD"}}
    return out


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    """A data root where 020 has a file (ingested, acked), a settled and delivered period,
    settings, a token and a second user; and the markers of its data."""
    home = tmp_path_factory.mktemp("idor") / "var"
    settings, engine = reference_root(home)
    populate(engine)
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    gen = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 200, seed=9)
               if f.airline_prefix == LH)
    app = create_app(settings, engine=engine,  # sign-in limits are tested elsewhere
                     notify=lambda fid: ingest_file(settings, engine, fid), login_rate=10**6,
                     lockout=LockoutRules(max_failures=10**6))
    c = TestClient(app)
    sign_in(c, "lh-admin")
    c.headers["X-CSRF-Token"] = csrf_of(c)
    r = c.post("/api/v1/files", data={"participant": LH}, files={
        "file": (VICTIM_FILE, write_hot(gen.header, gen.records, gen.charges))})
    file_id = r.json()["id"]
    assert c.get(f"/api/v1/files/{file_id}").json()["verdict"] == "accepted"
    c.put("/api/v1/settings", params={"participant": LH},
          json={"outputs": ["hot", "xml", "pdf"], "contact_email": SECRET_EMAIL})
    token = c.post("/api/v1/tokens", json={"name": "victim-erp", "scopes": ["view"]}).json()
    result = settle(settings, engine, "DE", "2026-11")
    deliver_run(settings, engine, result.run_id, Path(result.ledger_dir))
    with session_scope(engine) as s:
        delivery_id = s.scalars(select(Delivery.id).where(Delivery.participant_code == LH)
                                .order_by(Delivery.id)).first()
        token_id = s.scalars(select(ApiToken.id)).one()
        sha = s.get(LandedFile, file_id).sha256
    ids = {"file_id": file_id, "delivery_id": delivery_id, "token_id": token_id,
           "login": "lh-clerk", "code": DE_AGENT,
           "dispute_id": 1}
    markers = [VICTIM_FILE, sha, SECRET_EMAIL, "victim-erp", "lh-clerk", token["token"]]
    yield settings, engine, app, ids, markers, token["token"]
    engine.dispose()


def test_every_route_has_a_matrix_entry(victim) -> None:
    _, _, app, *_ = victim
    routes = app_routes(app)
    assert routes - set(MATRIX) == set(), "routes without an authorization-matrix entry"
    assert set(MATRIX) - routes == set(), "matrix entries of routes that do not exist"


def _cases():
    for (method, path), reqs in MATRIX.items():
        for i, (kind, req) in enumerate(reqs):
            for who in ATTACKERS:
                yield pytest.param(method, path, kind, req, who,
                                   id=f"{method} {path} #{i} {kind} as {who}")


@pytest.mark.parametrize(("method", "path", "kind", "req", "who"), list(_cases()))
def test_foreign_users_get_nothing_of_another_participant(victim, method, path, kind, req,
                                                          who) -> None:
    _settings, _engine, app, ids, markers, _ = victim
    c = TestClient(app)
    assert sign_in(c, who).status_code == 303
    c.headers["X-CSRF-Token"] = csrf_of(c)
    req = dict(req)
    url = req.pop("url", None) or re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    if "data" in req and method != "GET" and "files" not in req:
        req["data"] = {**req["data"], "csrf": c.headers["X-CSRF-Token"]}
    r = c.request(method, url, follow_redirects=False, **req)
    body = r.content.decode("utf-8", "replace")
    for marker in markers:
        assert marker not in body, f"{who} saw {marker!r} via {method} {url}"
    if kind == "victim":
        assert r.status_code in (403, 404), f"{who}: {method} {url} -> {r.status_code}"


def test_the_victims_data_is_unchanged(victim) -> None:
    """Runs after the matrix (file order): nothing an attacker sent changed 020's data."""
    _settings, engine, app, _ids, _markers, token = victim
    with session_scope(engine) as s:
        clerk = s.scalars(select(User).where(User.login == "lh-clerk")).one()
        assert not clerk.disabled and clerk.public_keys == ""
        assert [sorted(g.rights) for g in access.grants_of(s, clerk)] == [["upload", "view"]]
        lh = s.scalars(select(Participant).where(Participant.code == LH)).one()
        assert (lh.output_formats, lh.contact_email) == ("hot,xml,pdf", SECRET_EMAIL)
        assert s.scalars(select(User).where(User.login == "evil-user")).first() is None
        lh_files = s.scalars(select(LandedFile).join(
            Participant, Participant.id == LandedFile.participant_id)
            .where(Participant.code == LH)).all()
        assert [f.original_name for f in lh_files] == [VICTIM_FILE]
    assert TestClient(app).get("/api/v1/me", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
