"""The demo `casslink run` plays on a fresh data root, through the real front door:

1. SFTP users for four airlines (LH 020, AF 057, QF 081, CX 160) and one agent, with
   generated passwords kept in ``secrets/demo-users.json`` (mode 0600);
2. generated DE billing files of the current period uploaded by SFTP: LH and AF as HOT files
   and CX as ONE Record XML to their inboxes, a faulty AF file (wrong trailer count) that is
   rejected, and a QF file to its sandbox (validated and acknowledged, never billed);
3. waits for every acknowledgement in the outboxes (the gateway notified Airflow);
4. triggers the settlement DAG for the period and waits for the outputs to be delivered.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import paramiko
from sqlalchemy import Engine

from casslink.app.synthetic.generator import corrupt_bytes, generate_billing, today_period
from casslink.parsers.hot import write_hot
from casslink.parsers.onerecord.writer import write_xml
from casslink.participants import resolve
from casslink.reference import ReferenceData
from casslink.secrets import _write_private
from casslink.settings import Settings
from casslink.sftp_gateway import accounts
from casslink.sftp_gateway.notify import AirflowClient

DEMO_USERS = (("demo-lh", "LH"), ("demo-af", "AF"), ("demo-qf", "QF"), ("demo-cx", "CX"))


@dataclass
class DemoUser:
    login: str
    participant: str
    password: str


def ensure_users(settings: Settings, engine: Engine, agent_code: str) -> list[DemoUser]:
    path = settings.secrets_dir / "demo-users.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    out = []
    for login, code in (*DEMO_USERS, ("demo-agent", agent_code)):
        password = known.get(login) or secrets.token_urlsafe(12)
        with contextlib.suppress(accounts.AccountError):  # exists from an earlier run
            accounts.add_user(engine, login, resolve(engine, code), "admin", password)
        known[login] = password
        out.append(DemoUser(login, code, password))
    _write_private(path, json.dumps(known, indent=1))
    return out


def _upload(port: int, user: DemoUser, path: str, data: bytes) -> None:
    t = paramiko.Transport(("127.0.0.1", port))
    try:
        t.connect(username=user.login, password=user.password)
        s = paramiko.SFTPClient.from_transport(t)
        s.putfo(io.BytesIO(data), path + ".part", confirm=False)
        s.rename(path + ".part", path)
    finally:
        t.close()


def _wait(predicate: Callable[[], bool], timeout: float, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def _dags_ready(client: AirflowClient, dag_ids: tuple[str, ...]) -> bool:
    try:
        return all(client.call(f"/api/v2/dags/{d}").get("dag_id") == d for d in dag_ids)
    except Exception:  # 404 until the dag-processor has parsed the file, or a warm-up error
        return False


def run(settings: Settings, engine: Engine, ref: ReferenceData, sftp_port: int,
        client: AirflowClient, say: Callable[[str], None], awbs: int = 1200) -> dict:
    dags = ("casslink_ingest", "casslink_settlement")
    if not _wait(lambda: _dags_ready(client, dags), 180, 2.0):
        say("demo           the DAGs are not registered yet; uploads will wait for the sweep")
    period = today_period(ref, "DE")
    files = {f.airline_prefix: f for f in generate_billing(ref, "DE", period, awbs, seed=2026)}
    lh, af, qf, cx = files["020"], files["057"], files["081"], files["160"]
    codes = lh.records.column("agent_code").to_pylist() + af.records.column(
        "agent_code").to_pylist()
    agent = max(sorted(set(codes)), key=codes.count)  # the agent both airlines bill most
    users = {u.login: u for u in ensure_users(settings, engine, agent)}
    bad = type(af.header)(**{**af.header.__dict__, "file_number": 2})
    plan = [
        ("demo-lh", f"/inbox/LH_DE_{period.period_id}_01.hot", write_hot(lh.header, lh.records,
                                                                         lh.charges)),
        ("demo-af", f"/inbox/AF_DE_{period.period_id}_01.hot", write_hot(af.header, af.records,
                                                                         af.charges)),
        ("demo-af", f"/inbox/AF_DE_{period.period_id}_02.hot", corrupt_bytes(
            write_hot(bad, af.records, af.charges), [{"kind": "wrong_trailer_count"}])),
        ("demo-qf", f"/sandbox/QF_DE_{period.period_id}_01.hot", write_hot(
            qf.header, qf.records, qf.charges)),
        ("demo-cx", f"/inbox/CX_DE_{period.period_id}_01.xml", write_xml(
            cx.header, cx.records, cx.charges)),
    ]
    for login, path, data in plan:
        _upload(sftp_port, users[login], path, data)
        say(f"demo           uploaded {path} as {login} ({len(data)} bytes)")
    acks = {}
    for login, path, _ in plan:
        code = users[login].participant
        home = settings.homes_dir / resolve(engine, code).code / "outbox"
        name = path.rsplit("/", 1)[1]

        def found(home=home, name=name) -> bool:
            return any(p.name.startswith(name + ".f") and p.name.endswith(".ack.txt")
                       for p in home.glob("*.ack.txt"))

        ok = _wait(found, 180)
        ack = next((p for p in home.glob(f"{name}.f*.ack.txt")), None)
        verdict = next((line.split(None, 1)[1].strip() for line in ack.read_text().splitlines()
                        if line.startswith("VERDICT")), "?") if ack else "no ack yet"
        acks[path] = verdict
        say(f"demo           ack for {path}: {verdict if ok else 'not yet (see Airflow)'}")
    run_id = f"demo_settle_DE_{period.period_id}_{int(time.time())}"
    client.trigger("casslink_settlement", {"operation": "DE", "period": period.period_id},
                   run_id, note=f"demo: settle DE {period.period_id}")
    say(f"demo           settlement of DE {period.period_id} triggered (run {run_id})")
    state = {"value": None}

    def settled() -> bool:
        try:
            r = client.call(f"/api/v2/dags/casslink_settlement/dagRuns/{run_id}")
        except (OSError, ValueError):  # a server error for a moment: asked again
            return False
        state["value"] = r.get("state")
        return state["value"] in ("success", "failed")

    _wait(settled, 300, 2.0)
    say(f"demo           settlement run: {state['value']}")
    return {"period": period.period_id, "agent": agent, "acks": acks,
            "settlement": state["value"], "users": users}
