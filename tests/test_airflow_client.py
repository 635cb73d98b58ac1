"""The gateway's Airflow REST client against a stand-in API server: a DAG run is triggered
once (an existing run is reported, not an error), a server error is tried again, an
expired token is renewed."""

from __future__ import annotations

import json
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from casslink.sftp_gateway.notify import AirflowClient


@pytest.fixture
def api():
    """A stand-in Airflow API: each POST to dagRuns answers the next status of ``script``
    (then 200); every request is recorded."""
    state = {"script": [], "seen": [], "tokens": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/auth/token":
                state["tokens"] += 1
                return self._answer(201, {"access_token": f"t{state['tokens']}"})
            state["seen"].append((self.path, self.headers["Authorization"], body))
            status = state["script"].pop(0) if state["script"] else 200
            self._answer(status, {"dag_run_id": body["dag_run_id"], "state": "queued"})

        def _answer(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["client"] = AirflowClient(f"http://127.0.0.1:{server.server_port}", "admin", "pw")
    yield state
    server.shutdown()
    server.server_close()


def test_a_server_error_is_tried_again(api):
    api["script"] = [500, 503]
    out = api["client"].trigger("casslink_settlement", {"period": "2026-11"}, "run-1",
                                backoff_s=0)
    assert out == {"dag_run_id": "run-1", "state": "queued"}
    assert [s[2]["dag_run_id"] for s in api["seen"]] == ["run-1"] * 3  # the same run id


def test_an_existing_run_is_reported_and_other_errors_raised(api):
    api["script"] = [409]
    assert api["client"].trigger("d", {}, "run-2", backoff_s=0) == {"dag_run_id": "run-2",
                                                                      "exists": True}
    api["script"] = [500] * 4
    with pytest.raises(urllib.error.HTTPError) as err:
        api["client"].trigger("d", {}, "run-3", attempts=4, backoff_s=0)
    assert err.value.code == 500 and len(api["seen"]) == 1 + 4
    api["script"] = [400]
    with pytest.raises(urllib.error.HTTPError):  # a bad request is not tried again
        api["client"].trigger("d", {}, "run-4", backoff_s=0)
    assert len(api["seen"]) == 1 + 4 + 1


def test_an_expired_token_is_renewed(api):
    api["script"] = [401]
    api["client"].trigger("d", {}, "run-5", backoff_s=0)
    assert [s[1] for s in api["seen"]] == ["Bearer t1", "Bearer t2"]
