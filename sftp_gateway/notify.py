"""Tell Airflow that a file landed: trigger the ingest DAG with the file id (REST API v2).

Runs in a background thread with retries and back-off. If Airflow stays unreachable the file
simply waits in the registry (state ``landed``); the ingest DAG's periodic sweep picks it up.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

from casslink.secrets import airflow_admin_password
from casslink.settings import Settings

log = logging.getLogger("casslink.gateway")
INGEST_DAG = "casslink_ingest"


class AirflowClient:
    """A minimal Airflow 3 REST client: JWT from /auth/token, then /api/v2 calls."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 10.0):
        self.base, self.username, self.password, self.timeout = (base_url.rstrip("/"),
                                                                 username, password, timeout)
        self._token: str | None = None

    def call(self, path: str, data: dict | None = None, method: str | None = None,
              token: bool = True) -> dict:
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     data=json.dumps(data).encode() if data is not None
                                     else None)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {self.token()}")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else {}

    def token(self) -> str:
        if self._token is None:
            out = self.call("/auth/token", {"username": self.username,
                                             "password": self.password}, token=False)
            self._token = out["access_token"]
        return self._token

    def trigger(self, dag_id: str, conf: dict, run_id: str, note: str = "",
                attempts: int = 4, backoff_s: float = 1.0) -> dict:
        """Start DAG run ``run_id`` (once: a run that exists already is reported so). An
        expired token is renewed; a server error (say, Airflow's SQLite metadata database
        locked for a moment) is tried again, up to ``attempts`` times in all - safe, as the
        run id makes the call idempotent."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        if note:
            body["note"] = note
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.call(f"/api/v2/dags/{dag_id}/dagRuns", body)
            except urllib.error.HTTPError as exc:
                if exc.code == 409:  # this run exists already: the file is being ingested
                    return {"dag_run_id": run_id, "exists": True}
                if attempt >= attempts or not (exc.code == 401 or exc.code >= 500):
                    raise
                if exc.code == 401:  # token expired: a new one
                    self._token = None
                else:
                    time.sleep(backoff_s * attempt)

    @classmethod
    def for_install(cls, settings: Settings) -> AirflowClient | None:
        password = airflow_admin_password(settings)
        return cls(settings.airflow_url, "admin", password) if password else None


def ingest_run_id(file_id: int) -> str:
    """One DAG run per landed file: triggering twice cannot ingest a file twice."""
    return f"ingest_file_{file_id:06d}"


class Notifier:
    """Queue of landed file ids, sent to Airflow by one thread, with retries."""

    def __init__(self, settings: Settings, attempts: int = 8, backoff_s: float = 2.0) -> None:
        self.settings, self.attempts, self.backoff_s = settings, attempts, backoff_s
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="airflow-notifier", daemon=True)
        self._thread.start()

    def __call__(self, file_id: int) -> None:
        self._queue.put(file_id)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        client = None
        while (file_id := self._queue.get()) is not None:
            for attempt in range(1, self.attempts + 1):
                try:
                    client = client or AirflowClient.for_install(self.settings)
                    if client is None:
                        raise RuntimeError("Airflow has no admin password yet")
                    client.trigger(INGEST_DAG, {"file_id": file_id}, ingest_run_id(file_id),
                                   attempts=1)  # this loop tries again, with back-off
                    log.info("ingest of file %s triggered", file_id)
                    break
                except Exception as exc:
                    client = None
                    if attempt == self.attempts:
                        log.warning("could not trigger ingest of file %s (%s); the sweep "
                                    "will pick it up", file_id, exc)
                    else:
                        time.sleep(self.backoff_s * attempt)


def annotate_run(dag_id: str, run_id: str, note: str) -> None:
    """Best effort: put a human note on a DAG run (shown in the UI grid); never raises."""
    from casslink.settings import get_settings

    try:
        client = AirflowClient.for_install(get_settings())
        if client is not None:
            client.call(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", {"note": note[:1000]},
                         method="PATCH")
    except Exception as exc:
        log.info("could not annotate run %s: %s", run_id, exc)
