"""``casslink settle``, ``casslink settlement show`` and ``casslink trace``."""

from __future__ import annotations

import json

import typer

from casslink.app.cli.database import opened
from casslink.app.cli.text import plural
from casslink.money import format_amount

settlement_app = typer.Typer(help="Settled periods: remittances, settlements, components.",
                             no_args_is_help=True)


def _period_id(settings, operation: str, period: str) -> str:
    from casslink.reference import load_reference
    from casslink.settlement.run import SettlementError, resolve_period

    try:
        return resolve_period(load_reference(settings), operation.upper(), period).period_id
    except SettlementError as exc:
        raise typer.BadParameter(str(exc)) from exc


def settle(
    operation: str = typer.Option(..., "--operation", help="CASS operation (DE, IN, US)."),
    period: str = typer.Option(..., "--period",
                               help="Period id (2026-11, 2026-11-2) or any date inside it."),
    rebill: bool = typer.Option(False, "--rebill",
                                help="Settle a billed period again although its inputs "
                                     "changed (recorded as a re-bill)."),
    preview: bool = typer.Option(False, "--preview",
                                 help="Compute the ledger and show its totals, writing "
                                      "nothing: no run recorded, no ledger files, the period "
                                      "stays as it is. With --rebill: what a re-bill would "
                                      "give."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Settle a period outside Airflow (the functions the settlement DAG calls): bill each
    agent per airline, net into one remittance per agent, check that money is conserved, and
    write the ledger. The period is then billed (later files go to the next period) unless
    --preview. Same inputs, byte-identical ledger. Exit code 1 if the run fails."""
    from casslink.memory import tune
    from casslink.settlement.run import SettlementError
    from casslink.settlement.run import settle as run_settle

    tune()  # large tables: ordinary pages, Arrow on the C library's allocator
    with opened() as (settings, engine):
        try:
            result = run_settle(settings, engine, operation, period, rebill=rebill,
                                preview=preview)
        except SettlementError as exc:
            label = "settlement preview" if preview else "settlement"
            typer.echo(f"{label} failed: {exc}", err=True)
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    counts = (f"{plural(result.records, 'record')} from {plural(result.input_files, 'file')}, "
              f"{plural(result.agents, 'agent')}, {plural(result.airlines, 'airline')}; total "
              f"{format_amount(result.total, result.currency)} {result.currency}; "
              "conservation holds")
    if result.preview:
        typer.echo(f"PREVIEW {result.operation} {result.period_id} (a {result.would_be} "
                   f"run, not recorded): {counts}")
        typer.echo("preview: nothing written - no run recorded, no ledger, period unchanged")
        return
    typer.echo(f"{result.operation} {result.period_id} settled ({result.kind}): {counts}")
    typer.echo(f"ledger {result.ledger_dir}")


def _runs(engine, operation: str, period_id: str) -> list[dict]:
    """Every recorded settlement run of the period, oldest first."""
    from sqlalchemy import select

    from casslink.db.engine import session_scope
    from casslink.db.models import SettlementRun

    with session_scope(engine) as s:
        rows = s.scalars(select(SettlementRun).where(
            SettlementRun.operation_code == operation,
            SettlementRun.period_id == period_id).order_by(SettlementRun.id)).all()
        return [{"run_id": r.id, "kind": r.kind, "status": r.status,
                 "started_at": r.started_at.isoformat() if r.started_at else None,
                 "records": r.records, "total": r.total_minor, "currency": r.currency,
                 "ledger": r.ledger_dir} for r in rows]


@settlement_app.command("show")
def show(
    operation: str = typer.Option(..., "--operation", help="CASS operation."),
    period: str = typer.Option(..., "--period", help="Period id or a date inside it."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """The period's settlement runs with their kind (regular, repeat, rebill), then the
    per-agent remittances and per-airline settlements of the latest run, with components."""
    from casslink.settlement.run import SettlementError, latest_run, read_ledger

    with opened() as (settings, engine):
        try:
            pid = _period_id(settings, operation, period)
            run_id, folder = latest_run(engine, operation.upper(), pid)
            runs = _runs(engine, operation.upper(), pid)
        except SettlementError as exc:
            raise typer.BadParameter(str(exc)) from exc
    ledger = read_ledger(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    cur = manifest["settlement_currency"]
    kind = next(r["kind"] for r in runs if r["run_id"] == run_id)
    from casslink.settlement.tax import tax_per_party

    agent_tax = tax_per_party(ledger["tax"], "agent_code")
    airline_tax = tax_per_party(ledger["tax"], "airline_prefix")
    data = {"operation": operation.upper(), "period": pid, "currency": cur,
            "remittance_date": manifest["remittance_date"], "run_id": run_id, "kind": kind,
            "ledger": str(folder), "runs": runs,
            "agents": [{**a, "tax": agent_tax.get(a["agent_code"], {})}
                       for a in ledger["agents"].to_pylist()],
            "airlines": [{**a, "tax": airline_tax.get(a["airline_prefix"], {})}
                         for a in ledger["airlines"].to_pylist()],
            "bills": ledger["bills"].to_pylist()}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"{data['operation']} {pid} in {cur}, remittance date "
               f"{data['remittance_date']}; shown: run {run_id} ({kind})")
    typer.echo("runs:")
    typer.echo(f"  {'run':>5}  {'kind':<8} {'status':<10} {'started':<19} {'records':>9} "
               f"{'total':>16}")
    for r in runs:
        total = format_amount(r["total"], r["currency"]) if r["currency"] else str(r["total"])
        typer.echo(f"  {r['run_id']:>5}  {r['kind']:<8} {r['status']:<10} "
                   f"{(r['started_at'] or '')[:19]:<19} {r['records']:>9} {total:>16}")
    typer.echo("agents (remittance; negative = CASS pays the agent):")
    for a in data["agents"]:
        typer.echo(f"  {a['agent_code']}  {plural(a['counterparties'], 'airline', 3)}  "
                   f"{plural(a['awb_count'], 'AWB', 7)}  {format_amount(a['net'], cur):>16}")
    typer.echo("airlines (settlement):")
    for a in data["airlines"]:
        typer.echo(f"  {a['airline_prefix']}  {plural(a['counterparties'], 'agent', 4)}  "
                   f"{plural(a['awb_count'], 'AWB', 7)}  {format_amount(a['net'], cur):>16}")


def trace(
    operation: str = typer.Option(..., "--operation", help="CASS operation."),
    period: str = typer.Option(..., "--period", help="Period id or a date inside it."),
    agent: str = typer.Option("", "--agent", help="Agent code (11 digits)."),
    airline: str = typer.Option("", "--airline", help="Airline prefix or designator."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Lineage: the input files and line numbers behind an agent's and/or airline's bill."""
    from casslink.app.disputes.lineage import disputes_of_files
    from casslink.reference import load_reference
    from casslink.settlement.run import SettlementError, latest_ledger
    from casslink.settlement.run import trace as run_trace

    with opened() as (settings, engine):
        try:
            pid = _period_id(settings, operation, period)
            prefix = ""
            if airline:
                a = load_reference(settings).airline(airline)
                if a is None:
                    raise typer.BadParameter(f"unknown airline {airline!r}", param_hint="--airline")
                prefix = a.prefix
            folder = latest_ledger(engine, operation.upper(), pid)
            out = run_trace(engine, folder, agent or None, prefix or None)
            disputes = disputes_of_files(engine, [f["file_id"] for f in out])
            for f in out:
                f["disputes"] = disputes.get(f["file_id"], [])
        except SettlementError as exc:
            raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for f in out:
        shown = ", ".join(str(x) for x in f["lines"][:20])
        more = f" (+{len(f['lines']) - 20} more)" if len(f["lines"]) > 20 else ""
        typer.echo(f"file {f['file_id']} {f['name']} ({f['sha256'][:12]}): "
                   f"{plural(f['records'], 'record')}, lines {shown}{more}")
        for code, t in f.get("tax", {}).items():
            typer.echo(f"  tax {code} (rule version {t['rule_version']}): {t['tax']}")
        for d in f["disputes"]:
            typer.echo(f"  dispute {d['dispute_id']} ({d['status']}, {d['role']} "
                       f"{d['correction_number']})")


def deliver(
    operation: str = typer.Option(..., "--operation", help="CASS operation."),
    period: str = typer.Option(..., "--period", help="Period id or a date inside it."),
    formats: list[str] = typer.Option(
        [], "--format", help="Only this format: hot, xlsx or xml (repeatable; default all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Render the outputs of the period's latest settlement (airline hand-off HOT, agent HOT,
    Excel and XML statements; with Excel, the tax report and each party's dispute report) and
    deliver them atomically to every participant's outbox."""
    from casslink.app.disputes.report import write_reports as dispute_reports
    from casslink.memory import tune
    from casslink.outputs.deliver import FORMATS, deliver_run
    from casslink.settlement.run import SettlementError, latest_run

    tune()
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise typer.BadParameter(f"unknown format(s) {', '.join(unknown)}; use hot, xlsx, xml")

    with opened() as (settings, engine):
        try:
            pid = _period_id(settings, operation, period)
            run_id, folder = latest_run(engine, operation.upper(), pid)
            out = deliver_run(settings, engine, run_id, folder, formats=formats or FORMATS)
            if "xlsx" in (formats or FORMATS):  # the dispute reports go with the Excel run
                currency = json.loads((folder / "manifest.json").read_text())[
                    "settlement_currency"]
                for code, paths in dispute_reports(settings, engine, operation.upper(), pid,
                                                   currency).items():
                    out += [{"participant": code, "kind": "disputes", "path": str(p),
                             "size": p.stat().st_size} for p in paths]
        except SettlementError as exc:
            raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for d in out:
        typer.echo(f"{d['participant']:<11} {d['kind']:<16} {d['size']:>9}  {d['path']}")
    typer.echo(f"{plural(len(out), 'file')} delivered")
