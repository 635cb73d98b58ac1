"""`casslink run` on a fresh data root: the SFTP gateway and Airflow come up on 127.0.0.1, the
demo uploads billing files through SFTP, gets their acknowledgements (one rejected), settles
the period and delivers outputs; the UI answers with the project's login, a participant can
download its outputs by SFTP, and Ctrl-C stops every process it started."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.airflow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url, token=None, data=None, method=None):
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                 method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def test_casslink_run_demo_serves_ui_sftp_and_stops_cleanly(tmp_path):
    port, sftp_port, portal_port = _free_port(), _free_port(), _free_port()
    env = dict(os.environ, CASSLINK_HOME=str(tmp_path / "var"))
    env.pop("CASSLINK_DB_URL", None)
    exe = Path(sys.executable).parent / "casslink"
    proc = subprocess.Popen([str(exe), "run", "--ui-port", str(port), "--sftp-port",
                             str(sftp_port), "--portal-port", str(portal_port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 600
        password = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            m = re.search(r"Airflow UI\s+(\S+)\s+login: admin / (\S+)", line)
            if m:
                assert m.group(1) == f"http://127.0.0.1:{port}"
                password = m.group(2)
            if line.startswith("running; press Ctrl-C"):
                break
        text = "".join(output)
        assert password, text
        verdicts = re.findall(r"demo\s+ack for (\S+): (\w+)", text)
        assert sorted(v for _, v in verdicts) == ["ACCEPTED"] * 4 + ["REJECTED"], text
        assert any(name.endswith(".xml") for name, _ in verdicts), text
        assert "settlement run: success" in text, text
        login, agent_pw, agent = re.search(
            r"demo login\s+(demo-agent)\s+password (\S+)\s+\((\d{11})\)", text).groups()
        import paramiko

        t = paramiko.Transport(("127.0.0.1", sftp_port))
        t.connect(username=login, password=agent_pw)
        outbox = sorted(paramiko.SFTPClient.from_transport(t).listdir("/outbox"))
        t.close()
        mine = sorted(n.split(f"_{agent}_", 1)[1] for n in outbox if f"_{agent}_" in n)
        assert mine == ["billing.hot", "statement.xlsx", "statement.xml", "tax-report.csv",
                        "tax-report.xlsx"], outbox
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200
        # the portal: its address and demo logins printed; the agent in two operations
        assert f"Portal         http://127.0.0.1:{portal_port}/" in text, text
        portal_pw = re.search(r"portal login demo-agent\s+password (\S+)\s+\(agent in two "
                              r"operations", text).group(1)
        assert portal_pw == agent_pw
        with urllib.request.urlopen(f"http://127.0.0.1:{portal_port}/login", timeout=10) as r:
            assert r.status == 200 and "frame-ancestors" in r.headers["content-security-policy"]
        _, tok = _api(f"http://127.0.0.1:{port}/auth/token",
                      data={"username": "admin", "password": password})
        token = tok["access_token"]
        with pytest.raises(urllib.error.HTTPError):
            _api(f"http://127.0.0.1:{port}/auth/token",
                 data={"username": "admin", "password": "wrong"})
        # the project's DAG is there and runs
        dag_id = "casslink_reference_sync"
        for _ in range(90):
            try:
                status, _ = _api(f"http://127.0.0.1:{port}/api/v2/dags/{dag_id}", token)
                if status == 200:
                    break
            except urllib.error.HTTPError:
                pass
            time.sleep(1)
        _, run = _api(f"http://127.0.0.1:{port}/api/v2/dags/{dag_id}/dagRuns", token,
                      data={"logical_date": None}, method="POST")
        state = None
        for _ in range(120):
            _, r = _api(f"http://127.0.0.1:{port}/api/v2/dags/{dag_id}/dagRuns/"
                        f"{run['dag_run_id']}", token)
            state = r["state"]
            if state in ("success", "failed"):
                break
            time.sleep(1)
        assert state == "success"
        # nothing but loopback: the UI/API port is bound to 127.0.0.1 only
        for p in (port, sftp_port):
            listeners = [c for c in psutil.net_connections("tcp")
                         if c.status == "LISTEN" and c.laddr.port == p]
            assert listeners and all(c.laddr.ip == "127.0.0.1" for c in listeners)
        family = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        output.append(rest or "")
    assert proc.returncode == 0, "".join(output)
    assert "stopped" in "".join(output)
    alive = [p for p in family if psutil.pid_exists(p) and
             psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
