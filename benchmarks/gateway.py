"""Benchmark: SFTP upload throughput and login latency, our gateway vs OpenSSH's sftp-server.

Both servers run on 127.0.0.1 for the benchmark only and are stopped afterwards: our
``casslink gateway`` (jail, sha256 while writing, fsync, registry row) and an ``sshd`` on a
high port with its own host key, key-only login, and ``Subsystem sftp
/usr/lib/openssh/sftp-server`` (needs the Debian package openssh-server; the script does not
install or enable any system service). The same client, OpenSSH ``sftp -b``, uploads the same
200 MB random file to each, several runs; login latency is the time of an ``sftp -b`` session
that only lists a folder. Our gateway always fsyncs a file before it lands; OpenSSH does so
only when asked (``put -f``), so OpenSSH is measured both ways.

    .venv/bin/python benchmarks/gateway.py [--mb 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).parent / "casslink"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def _sftp(key: Path, user: str, port: int, commands: str, work: Path) -> float:
    batch = work / "batch"
    batch.write_text(commands)
    t0 = time.perf_counter()
    subprocess.run(["sftp", "-q", "-b", str(batch), "-i", str(key), "-P", str(port),
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    "-o", "BatchMode=yes", f"{user}@127.0.0.1"], check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not Path("/usr/sbin/sshd").exists():
        raise SystemExit("install openssh-server (Debian) to compare with OpenSSH")
    work = Path(tempfile.mkdtemp(prefix="gwbench-"))
    key = work / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    payload = work / "payload.bin"
    with open(payload, "wb") as fh:
        for _ in range(args.mb):
            fh.write(os.urandom(1 << 20))
    env = dict(os.environ, CASSLINK_HOME=str(work / "var"))
    env.pop("CASSLINK_DB_URL", None)
    subprocess.run([str(EXE), "reference", "load"], env=env, check=True, capture_output=True)
    subprocess.run([str(EXE), "users", "add", "bench", "--participant", "LH", "--key",
                    f"{key}.pub"], env=env, check=True, capture_output=True)
    gw_port, sshd_port = _port(), _port()
    gw = subprocess.Popen([str(EXE), "gateway", "--port", str(gw_port), "--no-notify",
                           "--no-watch"], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    sshd_dir = work / "sshd"
    sshd_dir.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(sshd_dir / "host")], check=True)
    shutil.copy(f"{key}.pub", sshd_dir / "authorized_keys")
    (sshd_dir / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {sshd_port}\nHostKey {sshd_dir / 'host'}\n"
        f"AuthorizedKeysFile {sshd_dir / 'authorized_keys'}\nPidFile {sshd_dir / 'pid'}\n"
        "UsePAM no\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nSubsystem sftp /usr/lib/openssh/sftp-server\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(sshd_dir / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = work / "sshd-uploads"
    target.mkdir()
    try:
        _wait_port(gw_port)
        _wait_port(sshd_port)
        user = os.environ.get("USER", "root")
        results: dict[str, dict] = {}
        for name, port, login, dest, flags in (
                ("casslink", gw_port, "bench", "inbox/", ""),
                ("openssh", sshd_port, user, f"{target}/", ""),
                ("openssh_fsync", sshd_port, user, f"{target}/", "-f ")):
            speeds, logins = [], []
            for i in range(args.runs):
                secs = _sftp(key, login, port, f"put {flags}{payload} {dest}payload{i}.bin\n",
                             work)
                speeds.append(args.mb * 1.048576 / secs)
            for _ in range(5):
                logins.append(_sftp(key, login, port, "ls\n", work))
            results[name] = {"mb_s": [round(x, 1) for x in speeds],
                             "median_mb_s": round(statistics.median(speeds), 1),
                             "login_s_median": round(statistics.median(logins), 3)}
            print(json.dumps({name: results[name]}), flush=True)
        for other in ("openssh", "openssh_fsync"):
            results[f"ratio_casslink_to_{other}"] = round(
                results["casslink"]["median_mb_s"] / results[other]["median_mb_s"], 2)
        print(json.dumps(results))
    finally:
        gw.send_signal(signal.SIGTERM)
        sshd.send_signal(signal.SIGTERM)
        gw.wait(timeout=20)
        sshd.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
