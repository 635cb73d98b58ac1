"""``casslink generate`` and ``casslink inspect``: synthetic billing files and a file inspector."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import typer

from casslink.app.cli.text import plural
from casslink.app.inspection import NotInspectable, inspect_file
from casslink.app.synthetic.generator import (
    FAULT_KINDS,
    corrupt_bytes,
    generate_billing,
    today_period,
)
from casslink.reference import ReferenceData
from casslink.settings import get_settings
from casslink.storage import atomic_write_bytes


def generate(
    awbs: int = typer.Option(1000, "--awbs", help="Number of AWBs over all airlines."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same files."),
    out: Path = typer.Option(..., "--out", help="Folder to write the billing files into."),
    operation: str = typer.Option("DE", "--operation", help="CASS operation (DE, IN, US)."),
    period: str = typer.Option("", "--period",
                               help="Period id (2026-11, 2026-11-2) or a date in it; "
                                    "default: the period containing today."),
    fmt: str = typer.Option("hot", "--format", help="hot (CASS fixed width) or xml (ONE Record "
                            "profile)."),
    faults: str = typer.Option("", "--faults",
                               help="Comma-separated faults to inject into the largest file: "
                                    + ", ".join(FAULT_KINDS)),
    file_number: int = typer.Option(1, "--file-number", help="File number in the headers."),
):
    """Write one synthetic billing file per airline plus manifest.json (what was written)."""
    if fmt not in ("hot", "xml"):
        raise typer.BadParameter("hot or xml", param_hint="--format")
    ref = ReferenceData.from_fixtures(get_settings().fixtures_dir / "reference")
    operation = operation.upper()
    if operation not in ref.operations:
        raise typer.BadParameter(f"unknown operation {operation}", param_hint="--operation")
    p = ref.resolve_period(operation, period) if period else today_period(ref, operation)
    if p is None:
        raise typer.BadParameter(f"no period {period!r} in the {operation} calendar",
                                 param_hint="--period")
    fault_list = [f.strip() for f in faults.split(",") if f.strip()]
    unknown = set(fault_list) - set(FAULT_KINDS)
    if unknown:
        raise typer.BadParameter(f"unknown faults {sorted(unknown)}", param_hint="--faults")
    from casslink.parsers.hot import write_hot
    from casslink.parsers.onerecord.writer import write_xml

    files = generate_billing(ref, operation, p, awbs, seed, fault_list, file_number)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"operation": operation, "period": p.period_id, "seed": seed, "awbs": awbs,
                "format": fmt, "files": []}
    for f in files:
        if fmt == "xml":
            data = write_xml(f.header, f.records, f.charges)
        else:
            data = corrupt_bytes(write_hot(f.header, f.records, f.charges), f.faults)
        name = f"{f.airline_prefix}_{operation}_{p.period_id}_{file_number:02d}.{fmt}"
        atomic_write_bytes(out / name, data)
        types = f.records.column("record_type").to_pylist()
        manifest["files"].append({
            "name": name, "airline_prefix": f.airline_prefix, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "records": {t: types.count(t) for t in sorted(set(types))},
            "charges": f.charges.num_rows, "faults": f.faults})
    atomic_write_bytes(out / "manifest.json", json.dumps(manifest, indent=2).encode())
    typer.echo(f"wrote {plural(len(files), 'file')} for {operation} {p.period_id} into {out}")


def inspect(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="File to inspect."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Say what a file is and what it holds; any file casslink reads or writes, recognised
    from its content: billing and adjustment files (HOT, ONE Record XML, XFWB: record counts,
    totals per currency and record type, and the net effect of CCA/DCM corrections, revised
    - original), hand-off and agent HOT files, XML and Excel statements, tax reports, and
    acknowledgements (fixed width, text, XML). Exit code 0 if the file reads cleanly, 1 if it
    has problems (listed) or is none of these."""
    try:
        report = inspect_file(file)
    except NotInspectable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        for line in _report_lines(report):
            typer.echo(line)
    if report["problem_count"]:
        raise typer.Exit(1)


def _report_lines(report: dict) -> list[str]:
    """The human-readable report of :func:`casslink.app.inspection.inspect_file`."""
    out = [f"file          {report['file']}", f"kind          {report['description']}"]
    h = report.get("header", {})
    if report["kind"] in ("billing", "handoff", "adjustment"):
        out += [f"operation     {h.get('operation') or '-'}   airline "
                f"{h.get('airline_prefix') or '-'}   agent {h.get('agent_code') or '-'}",
                f"period        {h.get('period_start')} .. {h.get('period_end')}   billed "
                f"{h.get('billing_date')}   file no {h.get('file_number')}",
                "records       " + (", ".join(f"{k} {v}" for k, v in
                                              report["record_counts"].items()) or "none"),
                f"charges       {report['charge_count']}"]
        for cur, types in report["totals"].items():
            out.append(f"totals {cur} by record type:")
            for rtype, sums in types.items():
                amounts = ", ".join(f"{k} {v}" for k, v in sums.items() if k != "records")
                out.append(f"  {rtype:<4} {plural(sums['records'], 'record')}: {amounts}")
        for cur, parts in report["net_effect"].items():
            if set(parts) == {"awb", "net"}:
                continue  # no corrections: the AWB totals are the net
            out.append(f"net effect {cur} (corrections: revised - original):")
            for name, sums in parts.items():
                amounts = ", ".join(f"{k} {v}" for k, v in sums.items())
                out.append(f"  {name.upper():<4} {amounts}")
    elif report["kind"] in ("agent-statement", "airline-statement"):
        if report["format"] == "xml":
            out += [f"operation     {h['operation']}   party {h['party']}   currency "
                    f"{h['currency']}",
                    f"period        {h['period']} ({h['period_start']} .. {h['period_end']})"
                    f"   billed {h['billing_date']}   remittance {h['remittance_date']}",
                    "lines         " + plural(report["lines"], "counterparty",
                                                  many="counterparties"),
                    "totals        " + ", ".join(f"{k} {v}" for k, v in
                                                 report["totals"].items()),
                    f"remittance    {report['remittance_due']} {h['currency']}"]
        else:
            out += [f"title         {report['title']}"]
            out += [f"  {k}: {v}" for k, v in h.items()]
            out += [f"sheets        {', '.join(report['sheets'])}",
                    f"total         {report['total_label']}: {report['total']}"]
    elif report["kind"] == "tax-report":
        out += [f"title         {report.get('title', '-')}",
                f"total tax     {report['total']}"]
    elif report["kind"] == "ack":
        c = report.get("counts", {})
        out += [f"for file      {h.get('file_name') or '-'} (id {h.get('file_id')})",
                f"verdict       {(report['verdict'] or '?').upper().replace('_', ' ')}",
                "records       " + ", ".join(f"{v} {k}" for k, v in c.items()
                                             if v is not None)]
        for cur, t in report.get("totals", {}).items():
            out.append(f"accepted {cur}  agent net {t['agent_net']} "
                       f"({plural(t['records'] or 0, 'record')})")
        for f in report.get("findings", [])[:20]:
            out.append(f"  line {f['line'] or '-'}: {f['code']} {f['severity']} {f['message']}")
    if report["problems"]:
        out.append(f"problems ({report['problem_count']}):")
        for p in report["problems"][:20]:
            raw = f" {p['raw']!r}" if p.get("raw") else ""
            out.append(f"  line {p.get('line') or '-'}: {p['code']} {p['message']}{raw}")
    return out


def convert(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="HOT, ONE Record XML or XFWB file."),
    to: str = typer.Option(..., "--to", help="xml, jsonld or hot."),
    out: Path = typer.Option(None, "--out", help="Output file (default: standard output)."),
):
    """Convert a billing file through the canonical model: HOT <-> ONE Record XML (our
    profile), XFWB -> either, and any of them -> JSON-LD. Exit code 1 if the input has
    problems (they are listed on stderr; nothing is written)."""
    from casslink.parsers import read_any
    from casslink.parsers.hot import write_hot
    from casslink.parsers.onerecord.jsonld import to_jsonld_bytes
    from casslink.parsers.onerecord.writer import write_xml

    if to not in ("xml", "jsonld", "hot"):
        raise typer.BadParameter("xml, jsonld or hot", param_hint="--to")
    fmt, batch = read_any(file.read_bytes(), file.name)
    if batch is None:
        typer.echo(f"{file}: {fmt} is not a billing file casslink reads", err=True)
        raise typer.Exit(1)
    if batch.problems:
        for p in batch.problems[:20]:
            typer.echo(f"line {p.line}: {p.code} {p.message}", err=True)
        raise typer.Exit(1)
    if to == "hot":
        data = write_hot(batch.header, batch.records, batch.charges)
    else:
        data = write_xml(batch.header, batch.records, batch.charges)
        if to == "jsonld":
            data = to_jsonld_bytes(data)
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        atomic_write_bytes(out, data)
        typer.echo(f"wrote {out} ({plural(len(data), 'byte')}, "
                   f"{plural(batch.records.num_rows, 'record')})",
                   err=True)
