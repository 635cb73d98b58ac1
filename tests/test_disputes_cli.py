"""``casslink disputes raise|list|show|decide|withdraw`` in the issue's forms, ``--as`` with
the user's rights checked, and the operator without it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from casslink.app.cli.main import app
from tests.dispute_world import A1, AWB1, LH, build

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, ["disputes", *args])


def test_cli_forms(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    raised = cli("raise", "--agent", A1, "--airline", LH, "--awb", f"{LH}-{AWB1}", "--reason",
                 "rate", "--amount", "120.00", "--text", "rate", "--as", "fw-admin",
                 "--today", "2026-12-04")
    assert raised.exit_code == 0, raised.output
    did = int(raised.output.strip())  # prints the new dispute's id
    shown = json.loads(cli("show", str(did), "--json", "--as", "fw-admin").output)
    assert (shown["status"], shown["claimed"], shown["raised_by"]) == ("RAISED", "120.00",
                                                                       "fw-admin")
    hidden = cli("show", str(did), "--as", "other-agent")
    assert hidden.exit_code == 2 and f"no dispute {did}" in hidden.output
    refused = cli("decide", str(did), "--accept", "--as", "fw-admin")
    assert refused.exit_code == 2 and "may not decide" in refused.output
    no_text = cli("decide", str(did), "--reject", "--as", "lh-admin")
    assert no_text.exit_code == 1 and "states its reason" in no_text.output
    listed = json.loads(cli("list", "--status", "RAISED", "--json").output)  # the operator
    assert [d["id"] for d in listed] == [did]
    decided = cli("decide", str(did), "--accept", "--amount", "80.00", "--text", "ok",
                  "--today", "2026-12-04", "--json", "--as", "lh-admin")
    assert decided.exit_code == 0, decided.output
    out = json.loads(decided.output)
    assert (out["status"], out["accepted_minor"], out["dcm_number"]) == ("ADJUSTED", 8000,
                                                                         "CP0001")
    late = cli("withdraw", str(did), "--as", "fw-admin")
    assert late.exit_code == 1 and "cannot become WITHDRAWN" in late.output
    text = cli("show", str(did)).output
    assert f"dispute {did} ADJUSTED correction DE 2026-11" in text and "CCA CP0001" in text
