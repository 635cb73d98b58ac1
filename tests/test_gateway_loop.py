"""The gateway's event loop never waits for the database: a session whose lookup or landing
is stuck (held on a threading.Event here) does not stop another client from listing."""

from __future__ import annotations

import asyncio
import io
import threading
import time

import paramiko
import pytest

PASSWORD = "correct horse battery staple"


class InProcessGateway:
    """The gateway's server on an event loop thread of this process, so a test can hold one
    of its blocking calls."""

    def __init__(self, settings, engine) -> None:
        from casslink.sftp_gateway.server import Gateway, start

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gw = Gateway(settings, engine)
        self.acceptor = self._run(start(self.gw, "127.0.0.1", 0))
        self.port = self.acceptor.get_port()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def sftp(self, login: str):
        t = paramiko.Transport(("127.0.0.1", self.port))
        t.connect(username=login, password=PASSWORD)
        return t, paramiko.SFTPClient.from_transport(t)

    def close(self) -> None:
        async def stop():
            self.acceptor.close()
            for conn in list(self.gw.connections):
                conn.close()
            await self.acceptor.wait_closed()

        self._run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        self.gw.shutdown()


@pytest.fixture
def gateway(tmp_path, repo):
    from casslink.db.engine import make_engine, upgrade
    from casslink.participants import resolve
    from casslink.reference import load_into_db
    from casslink.settings import get_settings
    from casslink.sftp_gateway import accounts

    s = get_settings().with_home(tmp_path / "var").ensure_dirs()
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, repo / "fixtures" / "reference")
    for login, code in (("lh-ops", "LH"), ("af-ops", "057")):
        accounts.add_user(engine, login, resolve(engine, code), password=PASSWORD)
    gp = InProcessGateway(s, engine)
    gp.participant_id = {login: resolve(engine, code).id
                         for login, code in (("lh-ops", "LH"), ("af-ops", "057"))}
    yield gp
    gp.close()
    engine.dispose()


def _in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []

    def target():
        try:
            out.append(fn())
        except Exception as exc:  # handed to the test's thread
            out.append(exc)

    th = threading.Thread(target=target, daemon=True)
    th.start()
    return th, out


def test_a_stuck_session_lookup_does_not_block_other_sessions(gateway, monkeypatch):
    """lh-ops's session start is held inside its participant lookup; af-ops still logs in
    and lists, and only then is lh-ops let through."""
    from casslink.sftp_gateway import server

    entered, release = threading.Event(), threading.Event()
    real = server.by_id

    def held_by_id(engine, participant_id):
        if participant_id == gateway.participant_id["lh-ops"]:
            entered.set()
            release.wait()
        return real(engine, participant_id)

    monkeypatch.setattr(server, "by_id", held_by_id)
    held, held_out = _in_thread(lambda: gateway.sftp("lh-ops"))
    try:
        assert entered.wait(60)
        t, s = gateway.sftp("af-ops")
        try:
            assert sorted(s.listdir("/")) == ["inbox", "outbox", "sandbox"]
            assert s.listdir("/outbox") == []
        finally:
            t.close()
        assert held.is_alive() and not held_out  # still held: the lookup has not returned
    finally:
        release.set()
        held.join(60)
    t, s = held_out[0]
    try:
        assert sorted(s.listdir("/")) == ["inbox", "outbox", "sandbox"]
    finally:
        t.close()


def test_a_stuck_landing_does_not_block_other_sessions(gateway, monkeypatch):
    """lh-ops's close waits inside the registry insert; af-ops still lists meanwhile; the
    file then lands once."""
    from casslink import registry

    entered, release = threading.Event(), threading.Event()
    real = registry.register

    def held_register(*args, **kwargs):
        entered.set()
        release.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(registry, "register", held_register)
    t1, s1 = gateway.sftp("lh-ops")
    held, held_out = _in_thread(lambda: s1.putfo(io.BytesIO(b"held landing"),
                                                 "/inbox/held.hot"))
    try:
        assert entered.wait(60)
        t, s = gateway.sftp("af-ops")
        try:
            assert s.listdir("/outbox") == []
        finally:
            t.close()
        assert held.is_alive() and not held_out
    finally:
        release.set()
        held.join(60)
    assert not isinstance(held_out[0], Exception), held_out
    t1.close()
    rows = [r for r in registry.rows(gateway.gw.engine) if r.original_name == "held.hot"]
    assert [r.size for r in rows] == [len(b"held landing")]


def test_a_storm_of_slow_password_checks_does_not_stall_signed_in_sessions(gateway,
                                                                          monkeypatch):
    """Ten logins of af-ops are held inside their argon2 check (more than the file pool's
    threads); lh-ops, signed in before, still uploads a file that lands, and reads it back
    through its outbox listing meanwhile. The checks run on their own pool."""
    from casslink import registry
    from casslink.sftp_gateway import server

    t1, s1 = gateway.sftp("lh-ops")
    entered, release = threading.Semaphore(0), threading.Event()
    real = server.accounts.verify_password

    def held_verify(creds, password):
        entered.release()
        release.wait()
        return real(creds, password)

    monkeypatch.setattr(server.accounts, "verify_password", held_verify)
    storm = [_in_thread(lambda: gateway.sftp("af-ops")) for _ in range(10)]
    try:
        for _ in range(2):  # the storm is on
            assert entered.acquire(timeout=60)
        time.sleep(3)  # and the rest of it piles in (on a shared pool it would take it all)
        done, out = _in_thread(lambda: s1.putfo(io.BytesIO(b"during the storm"),
                                                "/inbox/storm.hot"))
        done.join(30)
        assert not done.is_alive() and not isinstance(out[0], Exception), out
        assert s1.listdir("/outbox") == []
        assert all(th.is_alive() for th, _ in storm)  # the logins are still held
    finally:
        release.set()
        for th, _ in storm:
            th.join(60)
    for _, out in storm:
        t, _s = out[0]
        t.close()
    t1.close()
    rows = [r for r in registry.rows(gateway.gw.engine) if r.original_name == "storm.hot"]
    assert [r.size for r in rows] == [len(b"during the storm")]


def test_a_temp_name_opened_again_leaves_no_staged_bytes_behind(gateway):
    """A client writes x.part, closes it, opens x.part again and writes other bytes, then
    renames it: the second bytes land, and the first upload's staged file is gone."""
    from casslink import registry
    from casslink.sftp_gateway import landing

    staging = landing.staging_dir(gateway.gw.settings)
    t, s = gateway.sftp("lh-ops")
    try:
        s.putfo(io.BytesIO(b"first try"), "/inbox/again.hot.part", confirm=False)
        s.putfo(io.BytesIO(b"second try, longer"), "/inbox/again.hot.part", confirm=False)
        assert len(list(staging.iterdir())) == 1
        s.rename("/inbox/again.hot.part", "/inbox/again.hot")
    finally:
        t.close()
    assert list(staging.iterdir()) == []
    rows = [r for r in registry.rows(gateway.gw.engine) if r.original_name == "again.hot"]
    assert [r.size for r in rows] == [len(b"second try, longer")]
