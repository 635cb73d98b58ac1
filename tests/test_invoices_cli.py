"""``casslink invoices`` and the invoices DAG's task functions on a settled period: preview,
issue and deliver, the register as JSON / CSV / Excel, one document shown in its recipient's
language; the catalogs hold every invoice message."""

from __future__ import annotations

import csv
import json

import openpyxl
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from casslink import i18n
from casslink.app import tasks
from casslink.app.cli.main import app
from casslink.outputs.invoices import register, wording
from tests.invoice_world import settled_root


def test_cli_preview_issue_list_and_show(tmp_path, monkeypatch):
    home = tmp_path / "var"
    s, engine, _ = settled_root(home, awbs=60, seed=8)
    monkeypatch.setenv("CASSLINK_HOME", str(home))
    monkeypatch.setenv("CASSLINK_DB_URL", s.db_url)
    runner = CliRunner()
    try:
        out = runner.invoke(app, ["invoices", "issue", "--operation", "DE", "--period",
                                  "2026-11", "--preview", "--json"])
        assert out.exit_code == 0, out.output
        preview = json.loads(out.output)
        assert preview["preview"] and preview["documents"] > 0 and preview["issued"] == []
        assert register.rows(engine) == []  # a preview issues nothing
        out = runner.invoke(app, ["invoices", "issue", "--operation", "DE", "--period",
                                  "2026-11", "--json"])
        issued = json.loads(out.output)
        assert len(issued["issued"]) == preview["documents"]
        assert issued["delivered"] > 0
        csv_path, xlsx_path = tmp_path / "register.csv", tmp_path / "register.xlsx"
        out = runner.invoke(app, ["invoices", "list", "--operation", "DE", "--period",
                                  "2026-11", "--json", "--csv", str(csv_path), "--xlsx",
                                  str(xlsx_path)])
        assert out.exit_code == 0, out.output
        listed = json.loads(out.output)
        assert listed["gaps"] == []
        numbers = [d["number"] for d in listed["documents"]]
        assert sorted(numbers) == sorted(issued["issued"])
        with csv_path.open(encoding="utf-8") as fh:
            assert [r["Number"] for r in csv.DictReader(fh)] == numbers
        assert openpyxl.load_workbook(xlsx_path)["Register"].max_row == len(numbers) + 2
        ja = next(d for d in listed["documents"] if d["language"] == "ja")
        out = runner.invoke(app, ["invoices", "show", ja["number"]])
        assert out.exit_code == 0, out.output
        assert out.output.splitlines()[1].startswith(("請求書", "自己請求書", "貸方票"))
        assert ja["number"] in out.output
        out = runner.invoke(app, ["invoices", "show", ja["number"], "--language", "de"])
        assert "Rechnungsnummer" in out.output
        assert runner.invoke(app, ["invoices", "show", "NOPE-1"]).exit_code == 1
    finally:
        engine.dispose()


def test_dag_task_functions_issue_render_in_chunks_and_write_the_register(tmp_path):
    home = tmp_path / "var"
    s, engine, _ = settled_root(home, awbs=60, seed=8)
    try:
        parts = tasks.issue_invoices({"operation": "DE", "period": "2026-11"}, settings=s)
        assert parts and all(parts)
        files = sum(tasks.render_invoices(p, settings=s)["files"] for p in parts)
        assert files == 4 * sum(len(p) for p in parts)  # pdf + ubl to agent and airline
        again = tasks.issue_invoices({"operation": "DE", "period": "2026-11"}, settings=s)
        assert again == parts  # a retried task issues nothing new
        reg = tasks.invoice_register({"operation": "DE", "period": "2026-11"}, settings=s)
        assert reg["documents"] == sum(len(p) for p in parts)
        outbox = home / "homes" / "cass" / "outbox"
        assert (outbox / "DE_2026-11_invoice_register.csv").exists()
        assert (outbox / "DE_2026-11_invoice_register.xlsx").exists()
    finally:
        engine.dispose()


def test_the_documents_catalog_holds_every_invoice_message():
    with (i18n.LOCALES_DIR / "documents.pot").open("rb") as f:
        ids = {m.id for m in read_po(f) if m.id}
    assert set(wording.messages()) <= ids
    for language in i18n.LANGUAGES[1:]:
        with i18n.po_path(language, "documents").open("rb") as f:
            catalog = read_po(f)
        for msgid in wording.messages():
            assert catalog.get(msgid) and catalog.get(msgid).string, (language, msgid)
