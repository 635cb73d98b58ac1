"""The portal's foundation: sign-in with the gateway's accounts and the shared lockout, the
signed session cookie and its timeout, CSRF on every form, bearer tokens for /api, security
headers, and the language choice."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casslink import access
from casslink.db.engine import session_scope
from casslink.db.models import User
from casslink.login_policy import LockoutRules
from casslink.portal.app import create_app
from casslink.portal.security import RateLimit
from casslink.portal.sessions import COOKIE, Session, SessionCodec
from tests.portal_world import LH, PASSWORD, csrf_of, populate, sign_in


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world(system):
    settings, engine = system
    populate(engine)
    return settings, engine


def client_for(world, **kw) -> TestClient:
    settings, engine = world
    return TestClient(create_app(settings, engine=engine, **kw))


def test_sign_in_shows_the_account_and_sets_a_safe_cookie(world) -> None:
    c = client_for(world)
    assert c.get("/me", follow_redirects=False).headers["location"] == "/login"
    r = sign_in(c, "lh-admin")
    assert r.status_code == 303 and r.headers["location"] == "/me"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie  # plain http on loopback
    page = c.get("/me").text
    assert 'data-field="login">lh-admin<' in page and "Lufthansa Cargo" in page
    assert "<title>Account · casslink</title>" in page  # the title holds no form
    assert page.count('id="password-form"') == 1
    assert PASSWORD not in cookie
    c2 = client_for(world, secure_cookies=True)
    assert "Secure" in sign_in(c2, "lh-admin").headers["set-cookie"]


def test_wrong_password_unknown_login_and_lockout_look_the_same(world) -> None:
    c = client_for(world, lockout=LockoutRules(max_failures=3, failure_window_s=600,
                                                lockout_s=900))
    for login in ("lh-admin", "lh-admin", "nobody-here"):
        r = sign_in(c, login, "wrong-password-123")
        assert r.status_code == 401 and "Sign-in failed" in r.text
    for _ in range(2):
        assert sign_in(c, "lh-admin", "wrong-password-123").status_code == 401
    # locked now (login and address): the right password is refused the same way
    r = sign_in(c, "lh-admin")
    assert r.status_code == 401 and "Sign-in failed" in r.text
    assert c.get("/api/v1/me").status_code == 401


def test_login_rate_limit_per_address(world) -> None:
    c = client_for(world, login_rate=3)
    codes = [sign_in(c, "af-user", "wrong-password-123").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    rl = RateLimit(2, 60.0)
    assert [rl.hit("a", 0.0), rl.hit("a", 1.0), rl.hit("a", 2.0), rl.hit("a", 61.0)] == [
        True, True, False, True]


def test_every_form_needs_the_csrf_token(world) -> None:
    c = client_for(world)
    r = c.post("/login", data={"login": "lh-admin", "password": PASSWORD})
    assert r.status_code == 403
    sign_in(c, "lh-admin")
    assert c.post("/language", data={"language": "de"}).status_code == 403
    assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
    token = csrf_of(c)
    assert c.post("/language", data={"language": "de", "csrf": token},
                  follow_redirects=False).status_code == 303
    assert c.post("/logout", headers={"X-CSRF-Token": token},
                  follow_redirects=False).status_code == 303
    assert c.get("/api/v1/me").status_code == 401


def test_session_idle_timeout_and_forged_cookie(world) -> None:
    clock = Clock()
    c = client_for(world, idle_timeout_s=600, clock=clock)
    sign_in(c, "lh-admin")
    clock.t += 500
    assert c.get("/api/v1/me").status_code == 200  # refreshes the idle timer
    clock.t += 500
    assert c.get("/api/v1/me").status_code == 200
    clock.t += 601
    assert c.get("/api/v1/me").status_code == 401
    c2 = client_for(world)
    sign_in(c2, "af-user")
    value = c2.cookies.get(COOKIE)
    body, _, mac = value.rpartition(".")
    c2.cookies.set(COOKIE, body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac)
    assert c2.get("/api/v1/me").status_code == 401


def test_codec_round_trip_and_max_age() -> None:
    clock = Clock()
    codec = SessionCodec(b"k" * 32, idle_s=100, max_age_s=1000, clock=clock)
    s = Session()
    s.sign_in(7, "x-user", clock.t)
    cookie = codec.encode(s)
    assert codec.decode(cookie).user_id == 7
    assert SessionCodec(b"j" * 32).decode(cookie).user_id is None  # another install's key
    for _ in range(11):
        clock.t += 95
        s = codec.decode(cookie)
        cookie = codec.encode(s)
    assert s.user_id is None  # over max_age however active


def test_disabled_user_loses_the_session(world) -> None:
    _settings, engine = world
    c = client_for(world)
    sign_in(c, "lh-clerk")
    assert c.get("/api/v1/me").json()["login"] == "lh-clerk"
    with session_scope(engine) as s:
        s.scalars(select(User).where(User.login == "lh-clerk")).one().disabled = True
    assert c.get("/api/v1/me").status_code == 401


def test_bearer_tokens_only_for_the_api_and_narrowed_by_scopes(world) -> None:
    _settings, engine = world
    with session_scope(engine) as s:
        user = s.scalars(select(User).where(User.login == "lh-admin")).one()
        token = access.issue_token(s, user, ["view"], "erp")
    c = client_for(world)
    h = {"Authorization": f"Bearer {token}"}
    me = c.get("/api/v1/me", headers=h).json()
    assert me["login"] == "lh-admin" and me["token_scopes"] == ["view"]
    assert me["grants"] == [{"participant": LH, "kind": "airline", "operation": None,
                             "rights": ["view"]}]
    assert c.get("/me", headers=h, follow_redirects=False).status_code == 303  # not a page key
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer csl_nope"}).status_code == 401
    with session_scope(engine) as s:
        user = s.scalars(select(User).where(User.login == "lh-admin")).one()
        tid = s.scalars(select(access.ApiToken.id)).one()
        assert access.revoke_token(s, user, tid)
    assert c.get("/api/v1/me", headers=h).status_code == 401


def test_security_headers_everywhere(world) -> None:
    c = client_for(world)
    for r in (c.get("/login"), c.get("/api/v1/me"), c.get("/static/portal.css")):
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"
    page = c.get("/login").text
    assert "<script>" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "https://" not in page  # nothing from a CDN


def test_no_open_redirect_after_sign_in(world) -> None:
    c = client_for(world)
    r = c.post("/login", data={"login": "af-user", "password": PASSWORD,
                               "csrf": csrf_of(c), "next": "//evil.example/x"},
               follow_redirects=False)
    assert r.headers["location"] == "/"


def test_language_from_choice_then_accept_language(world) -> None:
    c = client_for(world)
    assert "サインイン" in c.get("/login", headers={"Accept-Language": "ja,en;q=0.5"}).text
    assert "Anmelden" in c.get("/login", headers={"Accept-Language": "de-CH"}).text
    sign_in(c, "fw-admin")
    c.post("/language", data={"language": "ko", "csrf": csrf_of(c), "next": "/me"})
    page = c.get("/me", headers={"Accept-Language": "de"}).text  # the choice wins
    assert '<html lang="ko">' in page and "로그아웃" in page
    assert c.get("/api/v1/me").json()["language"] == "ko"  # kept on the user
    c2 = client_for(world)
    sign_in(c2, "fw-admin")
    assert "로그아웃" in c2.get("/me").text


def test_the_message_template_is_up_to_date(repo) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, str(repo / "scripts" / "extract-messages"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_users_change_their_own_password(world) -> None:
    _settings, engine = world
    c = client_for(world)
    sign_in(c, "af-user")
    h = {"X-CSRF-Token": csrf_of(c)}
    new = "a-brand-new-password-1"
    assert c.post("/api/v1/me/password", json={"current": "wrong-password-1", "new": new},
                  headers=h).status_code == 403
    assert c.post("/api/v1/me/password", json={"current": PASSWORD, "new": "short"},
                  headers=h).status_code == 422
    assert c.post("/api/v1/me/password", json={"current": PASSWORD, "new": new},
                  headers=h).status_code == 204
    assert sign_in(client_for(world), "af-user").status_code == 401
    assert sign_in(client_for(world), "af-user", new).status_code == 303
    with session_scope(engine) as s:
        user = s.scalars(select(User).where(User.login == "af-user")).one()
        token = access.issue_token(s, user, ["view", "admin"], "x")
    assert c.post("/api/v1/me/password", json={"current": new, "new": PASSWORD},
                  headers={"Authorization": f"Bearer {token}"}).status_code == 403
    r = c.post("/me/password", data={"current": new, "new": PASSWORD, "csrf": csrf_of(c)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me?changed=1"


def test_require_right_for_a_new_feature_router(world) -> None:
    """How a feature (disputes, invoices, ...) guards its routes: ``require_right``."""
    from fastapi import APIRouter, Depends

    from casslink.portal.deps import Principal, require_right

    settings, engine = world
    app = create_app(settings, engine=engine)
    router = APIRouter()

    @router.get("/api/v1/example")
    def example(p: Principal = Depends(require_right("finance"))) -> dict:
        return {"login": p.login}

    app.include_router(router)
    c = TestClient(app)
    sign_in(c, "lh-clerk")  # view and upload on 020, no finance
    assert c.get("/api/v1/example").status_code == 403
    assert c.get("/api/v1/example", params={"participant": LH}).status_code == 403
    sign_in(c, "lh-admin")
    assert c.get("/api/v1/example", params={"participant": LH}).json() == {"login": "lh-admin"}
    assert c.get("/api/v1/example", params={"participant": "057"}).status_code == 403
    assert c.get("/api/v1/example").status_code == 200


def test_every_route_commits_its_transaction_before_it_answers(tmp_path) -> None:
    """Each route's database session (deps.db) is a function-scoped dependency: FastAPI ends
    it - commits - before the response is sent (a request-scoped one commits after, so a
    client could see a success whose commit then failed)."""
    from fastapi.routing import APIRoute

    from casslink.portal import deps
    from casslink.portal.app import create_app
    from tests.conftest import reference_root

    settings, engine = reference_root(tmp_path / "var")
    try:
        app = create_app(settings, engine=engine)
    finally:
        engine.dispose()

    def scopes(dependant) -> list:
        found = [d.scope for d in dependant.dependencies if d.call is deps.db]
        for d in dependant.dependencies:
            found += scopes(d)
        return found

    checked = 0
    for route in app.routes:
        if isinstance(route, APIRoute):
            used = scopes(route.dependant)
            assert all(s == "function" for s in used), (route.path, used)
            checked += bool(used)
    assert checked > 30
