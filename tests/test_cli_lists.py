"""``casslink users list`` and ``casslink files list``: a header line naming every column, and
the files counted per verdict (rejected files on their own)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from casslink.app.cli.main import app
from casslink.app.synthetic.generator import generate_billing
from casslink.parsers.hot import write_hot

runner = CliRunner()
PASSWORD = "correct horse battery staple"


def test_users_list_has_column_headers(system):
    for login, code in (("lh-ops", "020"), ("agent-ops", "23156130152")):
        added = runner.invoke(app, ["users", "add", login, "--participant", code,
                                    "--password-stdin"], input=PASSWORD + "\n")
        assert added.exit_code == 0, added.output
    runner.invoke(app, ["users", "disable", "agent-ops"])
    lines = runner.invoke(app, ["users", "list"]).stdout.splitlines()
    assert lines[0].split() == ["LOGIN", "ROLE", "KIND", "PARTICIPANT", "PASSWORD", "KEYS",
                                "STATUS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows == {"agent-ops": ["agent-ops", "user", "agent", "23156130152", "yes", "0",
                                  "disabled"],
                    "lh-ops": ["lh-ops", "user", "airline", "020", "yes", "0", "active"]}
    # every header starts where its column's values start
    for name in ("ROLE", "KIND", "PARTICIPANT"):
        at = lines[0].index(name)
        assert all(line[at - 2:at] == "  " and line[at] != " " for line in lines[1:])


def test_files_list_has_headers_and_counts_rejected_files_apart(system, ref, tmp_path):
    lh = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 30, seed=9)
              if f.airline_prefix == "020")
    good = tmp_path / "LH_DE_2026-11_01.hot"
    good.write_bytes(write_hot(lh.header, lh.records, lh.charges))
    junk = tmp_path / "junk.hot"
    junk.write_bytes(b"NOT A CASS FILE\r\n")
    junk2 = tmp_path / "junk2.hot"
    junk2.write_bytes(b"NOR THIS ONE\r\n")
    for path in (good, junk, junk2):
        runner.invoke(app, ["ingest", str(path), "--participant", "020"])
    registry = json.loads(runner.invoke(app, ["files", "list", "--json"]).stdout)
    verdicts = {r["name"]: r["verdict"] for r in registry}
    assert verdicts["junk.hot"] == verdicts["junk2.hot"] == "rejected"
    assert verdicts[good.name] != "rejected"

    lines = runner.invoke(app, ["files", "list"]).stdout.splitlines()
    assert lines[0].split() == ["ID", "PARTICIPANT", "NAME", "SIZE", "SHA256", "LANDED",
                                "(UTC)", "CHANNEL", "STATE", "VERDICT"]
    assert len(lines) == 1 + 3 + 1
    accepted = sum(v == "accepted" for v in verdicts.values())
    partly = sum(v == "accepted_with_rejections" for v in verdicts.values())
    assert lines[-1] == (f"3 files: {accepted} accepted, {partly} accepted with rejections, "
                         "2 rejected, 0 not yet ingested")
