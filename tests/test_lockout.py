"""The login lockout (issue 21, item 5): counted by the canonical login, a success resets only
that login's own count, checked before argon2, kept in the database across restarts; in
process on SQLite and PostgreSQL, and end to end with real clients against the gateway."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor

import paramiko
import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select

from casslink.db.engine import current_revision, make_engine, session_scope, upgrade
from casslink.db.models import LoginLockout
from casslink.login_policy import (
    InvalidLogin,
    LockoutRules,
    LoginPolicy,
    canonical_login,
)
from casslink.participants import resolve
from casslink.sftp_gateway import accounts
from casslink.sftp_gateway.policy import Limits, Lockout
from casslink.sftp_gateway.server import Gateway, GatewaySSHServer
from tests.gateway_harness import PASSWORD, GatewayProc, running_gateway

WRONG = "wrong-guess-Zq81!x"
PEERS = itertools.count()
RULES = LockoutRules(max_failures=5, failure_window_s=600, lockout_s=900)


class Clock:
    """A hand-moved UTC clock: no sleeps in these tests."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# --- the canonical login --------------------------------------------------------------------
def test_canonical_login_strips_lowercases_and_refuses_what_cannot_be_a_login():
    assert canonical_login("  VicTim\t") == "victim"
    assert canonical_login("a.b_c-9") == "a.b_c-9"
    for bad in ("", " ", "v", "vic tim", "victim\nx", "-victim", "vic/tim", "x" * 64,
                "vıctim", "\u212aey", "victim\u00a0", "ｖｉｃｔｉｍ"):
        with pytest.raises(InvalidLogin):
            canonical_login(bad)
        with pytest.raises(accounts.AccountError):  # the account lookup: the same function
            accounts._check_login(bad)
    assert accounts._check_login("  VicTim\t") == "victim"


def test_migration_creates_the_lockout_table(engine, db_url):
    assert current_revision(db_url) is not None
    cols = {c["name"] for c in inspect(engine).get_columns("login_lockouts")}
    assert cols == {"key", "failures", "window_start", "locked_until"}


# --- the policy on its own, on both databases -----------------------------------------------
def test_five_failures_lock_the_login_and_the_address_until_the_lockout_ends(engine, clock):
    policy = LoginPolicy(engine, RULES, clock)
    for i in range(4):
        assert policy.failure("victim", "10.0.0.1") == [], i
        clock.advance(60)
    assert policy.locked("victim", "10.0.0.1") == []
    assert policy.failure("VICTIM ", "10.0.0.1") == ["addr:10.0.0.1", "user:victim"]
    assert policy.locked(" Victim", "10.9.9.9") == ["user:victim"]
    assert policy.locked("other", "10.0.0.1") == ["addr:10.0.0.1"]
    clock.advance(899)
    assert policy.locked("victim", "10.0.0.2") == ["user:victim"]
    clock.advance(1)
    assert policy.locked("victim", "10.0.0.1") == []
    # the lock ended with a fresh count: one more failure does not lock again
    assert policy.failure("victim", "10.0.0.1") == []


def test_failures_spread_wider_than_the_window_never_lock(engine, clock):
    policy = LoginPolicy(engine, RULES, clock)
    for _ in range(20):  # 4 failures in the 600 s from the first; the fifth starts afresh
        assert policy.failure("victim", "10.0.0.1") == []
        clock.advance(150)
    assert policy.locked("victim", "10.0.0.1") == []


def test_a_new_policy_object_on_the_same_database_sees_the_lock(engine, db_url, clock):
    """The restart: a lockout lives in the database, not in the gateway's memory."""
    first = LoginPolicy(engine, RULES, clock)
    for i in range(5):
        first.failure("victim", f"10.0.0.{i}")
    engine.dispose()
    fresh_engine = make_engine(db_url)
    try:
        again = LoginPolicy(fresh_engine, RULES, clock)
        assert again.locked("VICTIM", "10.1.1.1") == ["user:victim"]
        clock.advance(900)
        assert again.locked("victim", "10.1.1.1") == []
    finally:
        fresh_engine.dispose()


def test_a_success_resets_only_that_logins_own_count(engine, clock):
    policy = LoginPolicy(engine, RULES, clock)
    for _ in range(4):
        policy.failure("b-user", "10.0.0.1")  # address 4, b 4
    for _ in range(2):
        policy.failure("a-user", "10.0.0.2")  # a 2
    policy.success("A-User")  # a signs in from 10.0.0.1
    assert policy.failure("b-user", "10.0.0.1") == ["addr:10.0.0.1", "user:b-user"]
    for i in range(4):  # a's own count did restart
        assert policy.failure("a-user", f"10.0.1.{i}") == []
    assert policy.locked("a-user", "10.0.2.1") == []


def test_an_invalid_login_counts_against_the_address_only(engine, clock):
    policy = LoginPolicy(engine, RULES, clock)
    for _ in range(4):
        assert policy.failure("not a login", "10.0.0.1") == []
    assert policy.failure("ÄÖÜ", "10.0.0.1") == ["addr:10.0.0.1"]
    assert policy.keys("not a login", "10.0.0.1") == ["addr:10.0.0.1"]


def test_an_address_is_counted_in_one_form(engine, clock):
    """IPv4 and IPv4-mapped IPv6 are one address; an IPv6 host counts by its /64."""
    policy = LoginPolicy(engine, RULES, clock)
    for _ in range(2):
        policy.failure(None, "10.0.0.1")
        policy.failure(None, "::ffff:10.0.0.1")
    assert policy.failure("x-user", "::FFFF:10.0.0.1") == ["addr:10.0.0.1"]
    for i in range(4):
        assert policy.failure(None, f"2001:db8:0:0:{i}::1") == []
    assert policy.failure(None, "2001:db8::ffff:1") == ["addr:2001:db8::/64"]
    assert policy.locked(None, "2001:db8:0:1::1") == []


def test_unlock_forgets_a_lock(engine, clock):
    policy = LoginPolicy(engine, RULES, clock)
    for i in range(5):
        policy.failure("victim", f"10.0.0.{i}")
    assert policy.unlock(login="VICTIM") == ["user:victim"]
    assert policy.locked("victim", "10.0.0.9") == []
    assert policy.unlock(login="victim", addr="10.0.0.4") == ["addr:10.0.0.4"]


def test_concurrent_failures_lock_exactly_once(engine, clock):
    """Attempts side by side (threads, each its own transaction) never lose a count nor
    collide creating a counter: the fifth of them locks, once."""
    policy = LoginPolicy(engine, RULES, clock)
    with ThreadPoolExecutor(8) as pool:
        newly = list(pool.map(lambda i: policy.failure("victim", f"10.0.3.{i % 2}"),
                              range(16)))
    assert sorted(k for keys in newly for k in keys) == \
        ["addr:10.0.3.0", "addr:10.0.3.1", "user:victim"]
    assert policy.locked("victim", "10.0.4.4") == ["user:victim"]


def test_stale_counters_are_pruned(engine, clock):
    policy = LoginPolicy(engine, RULES, clock)
    for i in range(5):
        policy.failure(f"user-{i}", "10.0.0.1")  # the fifth locks the address
    clock.advance(900)
    policy.failure("late", "10.0.0.2")  # windows over, the lock ended: all forgotten
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(LoginLockout.key))) == ["addr:10.0.0.2", "user:late"]


# --- the gateway's authentication, in process -----------------------------------------------
PEER = "10.0.0.50"


class FakeConn:
    def __init__(self, username: str) -> None:
        self.username, self.closed = username, False

    def get_extra_info(self, name: str, default=None):
        return self.username if name == "username" else default

    def set_extra_info(self, username: str) -> None:
        self.username = username

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def gateway(system, clock):
    settings_, engine_ = system
    participant = resolve(engine_, "057")
    accounts.add_user(engine_, "victim", participant, password=PASSWORD)
    accounts.add_user(engine_, "a-user", participant, password=PASSWORD)
    accounts.add_user(engine_, "b-user", participant, password=PASSWORD)
    gw = Gateway(settings_, engine_, Limits())
    gw.lockout = Lockout(engine_, gw.limits, clock)
    return gw


def _password(gw: Gateway, login: str, password: str, peer: str = PEER) -> bool:
    """One password attempt through the gateway's auth class; completes the login if right."""
    server = GatewaySSHServer(gw)
    server.peer = peer

    async def attempt() -> bool:
        ok = await server.validate_password(login, password)
        if ok:
            server.conn = FakeConn(login)
            await server.auth_completed()
        return ok

    return asyncio.run(attempt())


@pytest.fixture
def argon2_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(1)
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


def _lock_victim(gw: Gateway) -> None:
    for i in range(5):  # one failure each from five addresses: only the login locks
        assert not _password(gw, "victim", WRONG, peer=f"10.0.9.{i}")
    assert gw.lockout.locked("victim", "10.0.9.99") == ["user:victim"]


SPACE = " \t\r\n\x0b\x0c\x1c\x1f\u00a0\u2003\u3000"
variants = st.tuples(
    st.text(SPACE, max_size=3),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.text(SPACE, max_size=3),
).map(lambda t: t[0] + "".join(c.upper() if up else c for c, up in zip("victim", t[1],
                                                                          strict=True)) + t[2])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variant=variants)
def test_no_variant_of_a_locked_login_authenticates_nor_runs_argon2(gateway, clock,
                                                                    argon2_calls, variant):
    if not gateway.lockout.locked("victim", "10.0.9.99"):
        _lock_victim(gateway)
    n = next(PEERS)  # a fresh address each time: only the login's lock can refuse it
    before = len(argon2_calls)
    assert not _password(gateway, variant, PASSWORD, peer=f"10.1.{n // 250}.{n % 250}")
    assert len(argon2_calls) == before  # refused before any argon2 work
    assert gateway.sessions["victim"] == 0


def test_the_lock_ends_and_the_right_password_then_works(gateway, clock, argon2_calls):
    _lock_victim(gateway)
    assert not _password(gateway, " VICTIM", PASSWORD)
    clock.advance(900)
    assert _password(gateway, " VICTIM", PASSWORD)
    assert argon2_calls  # the control: an unlocked attempt does hash
    assert gateway.sessions["victim"] == 1


def test_a_locked_address_runs_no_argon2(gateway, argon2_calls):
    for _ in range(5):
        assert not _password(gateway, "nobody-here", WRONG)
    calls = len(argon2_calls)
    assert not _password(gateway, "a-user", PASSWORD)
    assert len(argon2_calls) == calls


def test_a_success_of_a_does_not_reset_the_address_nor_b(gateway):
    for _ in range(4):
        assert not _password(gateway, "b-user", WRONG)
    assert _password(gateway, "a-user", PASSWORD)  # same address
    assert not _password(gateway, "b-user", WRONG)  # fifth failure of both
    assert gateway.lockout.locked("b-user", PEER) == [f"addr:{PEER}", "user:b-user"]
    assert not _password(gateway, "a-user", PASSWORD)  # the address is locked for all


def test_a_key_probe_is_not_a_login(gateway, system, tmp_path):
    """asyncssh asks validate_public_key before any signature: anyone holding the (public)
    key may do that. It must not reset the count; only a completed login does."""
    _settings, engine_ = system
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
                   check=True)
    pub = (tmp_path / "k.pub").read_text()
    accounts.add_key(engine_, "victim", pub)
    import asyncssh

    key = asyncssh.import_public_key(pub)
    for i in range(4):
        assert not _password(gateway, "victim", WRONG, peer=f"10.0.7.{i}")
    server = GatewaySSHServer(gateway)
    server.peer = "10.0.7.9"
    assert asyncio.run(server.validate_public_key("victim", key))  # the probe: key known
    assert gateway.sessions["victim"] == 0
    assert not _password(gateway, "victim", WRONG, peer="10.0.7.8")
    assert gateway.lockout.locked("victim", "10.0.6.1") == ["user:victim"]


def test_audit_keeps_lockouts_and_never_a_password(gateway, system):
    settings_, _engine = system
    _lock_victim(gateway)
    assert not _password(gateway, "VICTIM", PASSWORD)
    for _ in range(5):
        _password(gateway, "a-user", WRONG, peer="10.0.5.5")
    lines = (settings_.logs_dir / "gateway-audit.log").read_text()
    audit = [json.loads(x) for x in lines.splitlines()]
    assert {"user:victim", "user:a-user", "addr:10.0.5.5"} <= {
        a.get("key") for a in audit if a["event"] == "lockout"}
    refused = [a for a in audit if a["event"] == "login_refused"]
    assert refused and all(a["reason"] == "locked out" for a in refused)
    assert PASSWORD not in lines and WRONG not in lines


# --- end to end: real clients against ``casslink gateway`` ----------------------------------
def _signs_in(gp: GatewayProc, login: str, password: str, source: str) -> bool:
    """A paramiko SFTP session from ``source`` (127.0.0.0/8 lets each test address differ)."""
    sock = socket.create_connection(("127.0.0.1", gp.port), timeout=30,
                                    source_address=(source, 0))
    t = paramiko.Transport(sock)
    try:
        t.connect(username=login, password=password)
        sftp = paramiko.SFTPClient.from_transport(t)
        return sorted(sftp.listdir("/")) == ["inbox", "outbox", "sandbox"]
    except paramiko.AuthenticationException:
        return False
    finally:
        t.close()


def _openssh_signs_in(gp: GatewayProc, login: str, source: str) -> bool:
    """OpenSSH ``sftp`` with the key of ``lh-ops`` from ``source``."""
    batch = gp.keydir / "batch"
    batch.write_text("ls /\n")
    out = subprocess.run(["sftp", "-b", str(batch), "-i", str(gp.keydir / "id"),
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-o", "BatchMode=yes", "-o", f"BindAddress={source}",
                          "-P", str(gp.port), f"{login}@127.0.0.1"],
                         capture_output=True, text=True, timeout=60)
    return out.returncode == 0 and "inbox" in out.stdout


def test_gateway_case_variants_stay_locked_across_a_restart(tmp_path):
    with running_gateway(tmp_path / "var", tmp_path) as gp:
        t, s = gp.sftp(" AF-OPS", PASSWORD)  # a variant is the same user, by its own name
        s.putfo(io.BytesIO(b"canonical"), "/inbox/canon.hot")
        t.close()
        assert [r["user"] for r in gp.registry() if r["name"] == "canon.hot"] == ["af-ops"]
        assert _openssh_signs_in(gp, "LH-OPS", "127.0.0.20")
        for i in range(5):  # five addresses, one failure each: only the logins lock
            assert not _signs_in(gp, "af-ops", WRONG, f"127.0.0.{30 + i}")
            assert not _signs_in(gp, "lh-ops", WRONG, f"127.0.0.{40 + i}")
        for variant in ("AF-OPS", " af-ops", "Af-Ops ", "af-ops"):
            assert not _signs_in(gp, variant, PASSWORD, "127.0.0.50"), variant
        assert not _openssh_signs_in(gp, "LH-OPS", "127.0.0.51")
        assert _signs_in(gp, "agent-1", PASSWORD, "127.0.0.50")  # the address is not locked
        gp.stop()
        gp.start()  # a restart forgets nothing
        assert not _signs_in(gp, "AF-OPS", PASSWORD, "127.0.0.52")
        assert not _openssh_signs_in(gp, "lh-ops", "127.0.0.53")
        assert _signs_in(gp, "agent-1", PASSWORD, "127.0.0.52")
        assert gp.cli("users", "unlock", "AF-OPS").stdout.strip() == "unlocked: user:af-ops"
        assert _signs_in(gp, "af-ops", PASSWORD, "127.0.0.54")
        assert not _openssh_signs_in(gp, "lh-ops", "127.0.0.54")
    text = (gp.home / "logs" / "gateway-audit.log").read_text() + gp.log.read_text()
    assert PASSWORD not in text and WRONG not in text
    audit = [json.loads(x) for x in (gp.home / "logs" / "gateway-audit.log").read_text()
             .splitlines()]
    locks = {a["key"] for a in audit if a["event"] == "lockout"}
    assert locks == {"user:af-ops", "user:lh-ops"}


def test_gateway_one_valid_account_does_not_buy_endless_guesses(tmp_path):
    with running_gateway(tmp_path / "var", tmp_path) as gp:
        src = "127.0.0.60"
        for _ in range(4):
            assert not _signs_in(gp, "victim-guess", WRONG, src)
        assert _signs_in(gp, "agent-1", PASSWORD, src)  # the attacker's own account
        assert not _signs_in(gp, "victim-guess", WRONG, src)  # the fifth failure locks
        assert not _signs_in(gp, "agent-1", PASSWORD, src)
        assert _signs_in(gp, "agent-1", PASSWORD, "127.0.0.61")
