"""A file inspector for every file casslink reads or writes, recognised from its content:

* billing inputs (HOT, ONE Record XML, XFWB) and adjustment files: record counts, totals per
  currency and record type, and the net effect of the corrections (revised - original);
* the hand-off (airline) and agent HOT files of a settlement;
* the XML statements (agent billing, airline settlement) and the Excel statements;
* the acknowledgements, fixed-width (``.ack``), text (``.ack.txt``) and XML.

:func:`inspect_file` returns a JSON-able report whose ``problems`` list what is wrong with the
file; :class:`NotInspectable` is raised for a file that is none of these.
"""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import AMOUNT_COLUMNS, BillingBatch, agent_net
from casslink.money import format_amount, to_minor

SNIFF = 4096
CORRECTIONS = {"cca": ("CCO", "CCR"), "dcm": ("DCO", "DCR")}  # (original, revised)
CB = "https://w3id.org/casslink/ns/billing#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CARGO = "https://onerecord.iata.org/ns/cargo#"


class NotInspectable(ValueError):
    """The file is none of the kinds casslink reads or writes (or cannot be read at all)."""


def read_any(path: Path) -> BillingBatch:
    """Read a billing input in any supported format (HOT, ONE Record XML, XFWB)."""
    from casslink.parsers import read_any_file

    fmt, batch = read_any_file(path, Path(path).name)
    if batch is None:
        raise NotInspectable(f"{path}: {fmt} is not a billing file casslink reads")
    return batch


def sniff(path: Path) -> str:
    """What a file is, from its first bytes (and, for XML, its first element):
    ``xlsx``, ``xml-statement``, ``xml-ack``, ``ack-fixed``, ``ack-text``, ``tax-report-csv``,
    ``billing``."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        element = _first_element(path)
        return {"BillingStatement": "xml-statement",
                "Acknowledgement": "xml-ack"}.get(element, "billing")
    if text.startswith(b"CASSLINK ACKNOWLEDGEMENT"):
        return "ack-text"
    if text.startswith(b"section,airline_prefix,agent_code,code,"):
        return "tax-report-csv"
    first = text.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"ACH") and len(first) == 250:
        return "ack-fixed"
    return "billing"


def _safe_parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def _first_element(path: Path) -> str:
    """Local name of the first element below the document's ``rdf:RDF`` (or of the root)."""
    from lxml import etree

    try:
        for _event, el in etree.iterparse(str(path), events=("start",), resolve_entities=False,
                                          no_network=True, load_dtd=False, huge_tree=False):
            name = etree.QName(el).localname
            if name != "RDF":
                return name
    except etree.XMLSyntaxError:
        return ""
    return ""


def inspect_file(path: Path) -> dict:
    """The report of any file casslink reads or writes (see the module docstring)."""
    path = Path(path)
    kind = sniff(path)
    report = {"xlsx": inspect_excel, "xml-statement": inspect_xml_statement,
              "xml-ack": inspect_xml_ack, "ack-fixed": inspect_fixed_ack,
              "ack-text": inspect_text_ack, "tax-report-csv": inspect_tax_report_csv,
              }.get(kind, inspect_billing)(path)
    report.setdefault("problems", [])
    report["problem_count"] = report.get("problem_count", len(report["problems"]))
    return {"file": str(path), **report}


# --- billing inputs and HOT outputs -----------------------------------------------------------

def _sums(records: pa.Table) -> dict[str, dict[str, dict[str, int]]]:
    """currency -> record type -> component -> sum (minor units), plus ``records``."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    if records.num_rows == 0:
        return out
    grouped = records.group_by(["currency", "record_type"]).aggregate(
        [(c, "sum") for c in AMOUNT_COLUMNS] + [("record_type", "count")])
    for row in grouped.to_pylist():
        sums = {c: int(row[f"{c}_sum"] or 0) for c in AMOUNT_COLUMNS}
        sums["agent_net"] = agent_net(sums)
        sums["records"] = int(row["record_type_count"])
        out.setdefault(row["currency"] or "???", {})[row["record_type"] or "?"] = sums
    return out


def _text(sums: dict[str, int], cur: str) -> dict[str, str | int]:
    """Non-zero components (and always the agent net) as amounts in ``cur``."""
    def fmt(v: int) -> str:
        return format_amount(v, cur) if cur != "???" else str(v)

    out: dict[str, str | int] = {k: fmt(v) for k, v in sums.items()
                                 if k not in ("agent_net", "records") and v}
    out["agent_net"] = fmt(sums["agent_net"])
    if "records" in sums:
        out["records"] = sums["records"]
    return out


def _diff(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: b.get(k, 0) - a.get(k, 0) for k in (*AMOUNT_COLUMNS, "agent_net")}


def totals_by_type(records: pa.Table) -> dict[str, dict[str, dict[str, str | int]]]:
    """Per currency and record type (AWB, CCO, CCR, DCO, DCR): every money component summed
    over the records of that type alone, the agent net and the record count. Originals and
    revisions are never added together."""
    return {cur: {t: _text(s, cur) for t, s in sorted(types.items())}
            for cur, types in sorted(_sums(records).items())}


def net_effect(records: pa.Table) -> dict[str, dict[str, dict[str, str]]]:
    """Per currency: what the file bills - the AWB billings, each correction kind's effect
    (revised - original, per component: ``cca`` = CCR - CCO, ``dcm`` = DCR - DCO) and their
    sum ``net``, which is what settlement bills."""
    zero = dict.fromkeys((*AMOUNT_COLUMNS, "agent_net"), 0)
    out = {}
    for cur, types in sorted(_sums(records).items()):
        parts = {"awb": _diff(zero, types.get("AWB", zero))}
        for name, (orig, rev) in CORRECTIONS.items():
            if orig in types or rev in types:
                parts[name] = _diff(types.get(orig, zero), types.get(rev, zero))
        parts["net"] = {k: sum(p[k] for p in parts.values()) for k in zero}
        out[cur] = {name: _text(p, cur) for name, p in parts.items()}
    return out


def inspect_billing(path: Path) -> dict:
    """A billing input, adjustment file, hand-off or agent HOT file."""
    batch = read_any(path)
    h = batch.header
    types = batch.records.column("record_type") if batch.records.num_rows else pa.array([])
    counts = pc.value_counts(types).to_pylist() if len(types) else []
    kind = h.family
    description = {"billing": "airline billing file", "adjustment": "agent adjustment file",
                   "handoff": "agent HOT file" if h.agent_code and not h.airline_prefix
                   else "airline hand-off file"}.get(h.family, h.family)
    return {
        "kind": kind,
        "description": f"{description} ({batch.format})",
        "format": batch.format,
        "header": h.as_dict(),
        "trailer": batch.trailer,
        "lines": batch.line_count,
        "record_counts": {c["values"]: c["counts"]
                          for c in sorted(counts, key=lambda c: c["values"])},
        "raw_record_ids": batch.record_counts,
        "charge_count": batch.charges.num_rows,
        "totals": totals_by_type(batch.records),
        "net_effect": net_effect(batch.records),
        "problem_count": len(batch.problems),
        "problems": [p.as_dict() for p in batch.problems[:100]],
    }


# --- XML statements and acknowledgements -----------------------------------------------------

def _parse_xml(path: Path):
    from lxml import etree

    try:
        return etree.parse(str(path), _safe_parser()).getroot()
    except etree.XMLSyntaxError as exc:
        raise NotInspectable(f"{path}: not well-formed XML: {exc}") from exc


def _local(el) -> str:
    from lxml import etree

    return etree.QName(el).localname


def _child(el, name: str, ns: str = CB):
    return el.find(f"{{{ns}}}{name}")


def _value(el, name: str, ns: str = CB) -> str:
    child = _child(el, name, ns)
    if child is None:
        return ""
    resource = child.get(f"{{{RDF}}}resource")
    if resource:
        return resource.rsplit("#", 1)[-1]
    return (child.text or "").strip()


def _minor(text: str, cur: str) -> int | None:
    try:
        return to_minor(Decimal(text), cur)
    except (InvalidOperation, ValueError, KeyError):
        return None


def _ratings(parent, name: str) -> dict[str, str]:
    """``{"WT-P": "1973.80", "CN": ...}`` of the ``cargo:Ratings`` under ``name`` children."""
    out = {}
    for holder in parent.findall(f"{{{CB}}}{name}"):
        for r in holder.findall(f"{{{CARGO}}}Ratings"):
            ident = _value(r, "billingChargeIdentifier", CARGO)
            pc_ = _value(r, "chargePaymentType", CARGO)
            out[f"{ident}-{pc_}" if pc_ else ident] = _value(r, "subTotal", CARGO)
    return out


def _party(el) -> str:
    """Airline prefix, or the agent's 7-digit code and 4-digit location, of a party element."""
    for node in el.iter(f"{{{CARGO}}}Carrier", f"{{{CARGO}}}Company"):
        prefix = _value(node, "prefix", CARGO)
        if prefix:
            return prefix
        return (_value(node, "iataCargoAgentCode", CARGO)
                + _value(node, "iataCargoAgentLocationIdentifier", CARGO))
    return ""


def inspect_xml_statement(path: Path) -> dict:
    """An agent billing statement or airline settlement statement (ONE Record XML). The
    lines' net amounts must add up to the remittance due."""
    root = _parse_xml(path)
    st = root if _local(root) == "BillingStatement" else root.find(f"{{{CB}}}BillingStatement")
    if st is None:
        raise NotInspectable(f"{path}: no cb:BillingStatement")
    stype = _value(st, "statementType")
    cur = _value(st, "statementCurrency")
    lines = [ln for holder in st.findall(f"{{{CB}}}line")
             for ln in holder.findall(f"{{{CB}}}StatementLine")]
    due = _value(st, "remittanceDue")
    problems = []
    nets = [_minor(_value(ln, "netAmount"), cur) for ln in lines]
    due_minor = _minor(due, cur)
    if due_minor is None or any(n is None for n in nets):
        problems.append({"line": None, "code": "statement", "message":
                         "an amount is not a decimal in the statement currency"})
    elif sum(nets) != due_minor:
        problems.append({"line": None, "code": "statement", "message":
                         f"the lines add up to {format_amount(sum(nets), cur)}, the "
                         f"remittance due is {due}"})
    side = "agent" if stype == "AgentBillingStatement" else "airline"
    return {
        "kind": f"{side}-statement",
        "description": ("agent billing statement" if side == "agent"
                        else "airline settlement statement") + " (xml)",
        "format": "xml",
        "header": {"statement_type": stype, "operation": _value(st, "cassOperation"),
                   "period": _value(st, "billingPeriod"),
                   "period_start": _value(st, "periodStart"),
                   "period_end": _value(st, "periodEnd"),
                   "billing_date": _value(st, "billingDate"),
                   "remittance_date": _value(st, "remittanceDate"), "currency": cur,
                   "party": _party(_child(st, "billedParty"))
                   if _child(st, "billedParty") is not None else ""},
        "lines": len(lines),
        "counterparties": [_party(_child(ln, "counterparty")) for ln in lines
                           if _child(ln, "counterparty") is not None],
        "totals": _ratings(st, "total"),
        "remittance_due": due,
        "problems": problems,
    }


def inspect_xml_ack(path: Path) -> dict:
    """An acknowledgement for an XML sender (``cb:Acknowledgement``)."""
    root = _parse_xml(path)
    ack = root if _local(root) == "Acknowledgement" else root.find(f"{{{CB}}}Acknowledgement")
    if ack is None:
        raise NotInspectable(f"{path}: no cb:Acknowledgement")
    findings = [{"line": _value(f, "line"), "code": _value(f, "code"),
                 "severity": _value(f, "severity"), "message": _value(f, "message")}
                for holder in ack.findall(f"{{{CB}}}finding")
                for f in holder.findall(f"{{{CB}}}Finding")]
    totals = {}
    for holder in ack.findall(f"{{{CB}}}acceptedTotal"):
        for t in holder.findall(f"{{{CB}}}CurrencyTotal"):
            totals[_value(t, "currency")] = {"agent_net": _value(t, "agentNet"),
                                             "records": _int(_value(t, "recordCount"))}
    return {
        "kind": "ack", "description": "acknowledgement (xml)", "format": "xml",
        "header": {"file_name": _value(ack, "fileName"), "file_id": _int(_value(ack, "fileId")),
                   "sha256": _value(ack, "sha256"), "received": _value(ack, "receivedAt"),
                   "channel": _value(ack, "channel")},
        "verdict": _value(ack, "verdict"),
        "counts": {"records": _int(_value(ack, "recordsReceived")),
                   "accepted": _int(_value(ack, "recordsAccepted")),
                   "rejected": _int(_value(ack, "recordsRejected"))},
        "findings": findings, "totals": totals,
    }


def _int(text: str) -> int | None:
    return int(text) if text.strip().lstrip("-").isdigit() else None


VERDICTS = {"accepted", "accepted_with_rejections", "rejected"}


def inspect_fixed_ack(path: Path) -> dict:
    """A fixed-width acknowledgement (``.ack``, records ACH/ACE/ACT/ACZ)."""
    from casslink.validators.ack import WIDTH, parse_fixed

    data = path.read_bytes()
    try:
        ack = parse_fixed(data)
    except UnicodeDecodeError as exc:
        raise NotInspectable(f"{path}: an acknowledgement is ASCII: {exc}") from exc
    h = ack.get("header", {})
    problems = [{"line": i, "code": "ack", "message": f"line is {len(line)} bytes, expected "
                 f"{WIDTH}"} for i, line in enumerate(data.decode("ascii").splitlines(), 1)
                if len(line) != WIDTH]
    trailer = ack.get("trailer")
    if trailer is None:
        problems.append({"line": None, "code": "ack", "message": "no ACZ trailer"})
    elif (trailer["errors"], trailer["totals"]) != (len(ack["findings"]), len(ack["totals"])):
        problems.append({"line": None, "code": "ack", "message":
                         f"trailer counts {trailer['errors']} findings and {trailer['totals']} "
                         f"totals, the file has {len(ack['findings'])} and "
                         f"{len(ack['totals'])}"})
    if h.get("verdict") not in VERDICTS:
        problems.append({"line": 1, "code": "ack", "message":
                         f"unknown verdict {h.get('verdict')!r}"})
    totals = {}
    for t in ack["totals"]:
        minor = (t["agent_net"] or 0) * (-1 if t["sign"] == "-" else 1)
        cur = t["currency"]
        totals[cur] = {"agent_net": format_amount(minor, cur), "records": t["count"]}
    return {
        "kind": "ack", "description": "acknowledgement (fixed width)", "format": "ack",
        "header": {k: h.get(k) for k in ("file_id", "sha256", "family", "operation", "period",
                                         "channel")},
        "verdict": h.get("verdict"),
        "counts": {k: h.get(k) for k in ("records", "accepted", "rejected", "errors",
                                         "warnings")},
        "findings": [{k: f[k] for k in ("line", "code", "severity", "message")}
                     for f in ack["findings"]],
        "totals": totals, "problems": problems,
    }


_TEXT_FIELDS = {"file": r"^File\s+(.*?)\s+\(id (\d+),", "verdict": r"^VERDICT\s+(.+)$",
                "records": r"^Records\s+(\d+) received, (\d+) accepted, (\d+) rejected"}


def inspect_text_ack(path: Path) -> dict:
    """The text acknowledgement a person reads (``.ack.txt``)."""
    from casslink.validators.ack import VERDICT_TEXT

    text = path.read_text(encoding="utf-8", errors="replace")
    found = {k: re.search(rx, text, re.M) for k, rx in _TEXT_FIELDS.items()}
    problems = [{"line": None, "code": "ack", "message": f"no {k} line"}
                for k, m in found.items() if m is None]
    verdict_text = found["verdict"].group(1).strip() if found["verdict"] else ""
    verdict = next((v for v, t in VERDICT_TEXT.items() if t == verdict_text), None)
    if found["verdict"] and verdict is None:
        problems.append({"line": None, "code": "ack",
                         "message": f"unknown verdict {verdict_text!r}"})
    rec = found["records"]
    return {
        "kind": "ack", "description": "acknowledgement (text)", "format": "text",
        "header": {"file_name": found["file"].group(1) if found["file"] else None,
                   "file_id": int(found["file"].group(2)) if found["file"] else None},
        "verdict": verdict,
        "counts": dict(zip(("records", "accepted", "rejected"),
                           map(int, rec.groups()), strict=True)) if rec else {},
        "problems": problems,
    }


# --- the tax report (outputs/tax_report.py) ---------------------------------------------------

def inspect_tax_report_csv(path: Path) -> dict:
    """A tax report as CSV: its rows per section and the total tax of its codes."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    codes = [r for r in rows if r["section"] == "code"]
    currencies = sorted({r["currency"] for r in rows})
    return {"kind": "tax-report", "description": "tax report (csv)", "format": "csv",
            "sections": {k: sum(1 for r in rows if r["section"] == k)
                         for k in ("code", "airline", "agent")},
            "currency": currencies[0] if len(currencies) == 1 else "",
            "total": str(sum((Decimal(r["tax"]) for r in codes), Decimal(0))), "problems": []}


def _tax_report_xlsx(title: str, rows: list, sheets: list[str]) -> dict:
    """A tax report workbook: its first sheet (by tax code) from the row after its header;
    the total is the sum of its tax column."""
    total = sum((Decimal(str(r[5])) for r in rows[3:] if r and len(r) > 5 and r[5] is not None),
                Decimal(0))
    return {"kind": "tax-report", "description": "tax report (xlsx)", "format": "xlsx",
            "title": title, "sheets": sheets, "total": str(total), "problems": []}


# --- Excel statements ------------------------------------------------------------------------

def inspect_excel(path: Path) -> dict:
    """An Excel statement: the agent's billing statement or the airline's settlement
    statement, recognised by its title; the title block, sheets and the total."""
    import openpyxl

    from casslink.outputs.excel import labels

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise NotInspectable(f"{path}: not an Excel workbook: {exc}") from exc
    try:
        first = wb[wb.sheetnames[0]]
        rows = [r for r in first.iter_rows(values_only=True)]
        sheets = list(wb.sheetnames)
    finally:
        wb.close()
    title = str(rows[0][0]) if rows and rows[0] and rows[0][0] else ""
    L = labels()
    side = next((s for s in ("agent", "airline")
                 if title.startswith(L[f"{s}_title"].split("{code}")[0])), None)
    if side is None and title.startswith("Tax report "):
        return _tax_report_xlsx(title, rows, sheets)
    if side is None:
        raise NotInspectable(f"{path}: an Excel workbook, but not a casslink statement "
                             f"(title {title!r})")
    block = {}
    for r in rows[1:]:
        if not r or r[0] is None:
            break
        block[str(r[0])] = r[1] if len(r) > 1 else None
    total_labels = {L[k] for k in ("total_remittance", "total_refund", "total_settlement")}
    total_row = next((r for r in rows if r and r[0] in total_labels), None)
    total = next((v for v in reversed(total_row) if v is not None), None) if total_row \
        else None
    problems = [] if total_row else [{"line": None, "code": "statement",
                                      "message": "no total row on the first sheet"}]
    return {
        "kind": f"{side}-statement",
        "description": ("agent billing statement" if side == "agent"
                        else "airline settlement statement") + " (xlsx)",
        "format": "xlsx", "title": title, "header": block, "sheets": sheets,
        "total_label": total_row[0] if total_row else None,
        "total": str(total) if total is not None else None, "problems": problems,
    }
