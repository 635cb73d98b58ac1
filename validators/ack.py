"""Acknowledgements: a fixed-width ack a program can parse, and a text summary a person reads.

The fixed-width ack (casslink-defined, 250 columns, CRLF) is declared as data below:

* ``ACH`` header: file id, sha256, verdict, counts;
* ``ACE`` one per finding: line, code, severity, record type, field, raw value, message;
* ``ACT`` one per currency: accepted records and their agent net (minor units, sign);
* ``ACZ`` trailer: number of ACE and ACT records.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import partial
from pathlib import Path

import jinja2

from casslink import i18n
from casslink.canonical import AMOUNT_COLUMNS, agent_net
from casslink.money import format_amount
from casslink.outbox import safe_name


def N_(message: str) -> str:
    """Marks a message of the ``statements`` catalog (scripts/extract-statement-labels)."""
    return message


WIDTH = 250
TITLE = N_("CASSLINK ACKNOWLEDGEMENT")
VERDICT_TEXT = {"accepted": N_("ACCEPTED"),
                "accepted_with_rejections": N_("ACCEPTED WITH REJECTED RECORDS"),
                "rejected": N_("REJECTED - nothing from this file is billed")}
LATE_TEXT = N_("LATE - period {period} is closed; these records are billed in period "
               "{billed_period}")
LABEL_WIDTH = 14  # the text ack's labels are padded to this many columns

# (name, start, length, kind) - kind N = zero-filled digits, A = left-aligned text
ACK_LAYOUT: dict[str, tuple[tuple[str, int, int, str], ...]] = {
    "ACH": (("file_id", 4, 12, "N"), ("sha256", 16, 64, "A"), ("verdict", 80, 24, "A"),
            ("records", 104, 10, "N"), ("accepted", 114, 10, "N"), ("rejected", 124, 10, "N"),
            ("errors", 134, 10, "N"), ("warnings", 144, 10, "N"), ("family", 154, 12, "A"),
            ("operation", 166, 2, "A"), ("period", 168, 10, "A"), ("channel", 178, 8, "A"),
            ("late", 186, 1, "A"), ("billed_period", 187, 10, "A")),
    "ACE": (("line", 4, 8, "N"), ("code", 12, 8, "A"), ("severity", 20, 8, "A"),
            ("record_type", 28, 3, "A"), ("field", 31, 20, "A"), ("raw", 51, 40, "A"),
            ("message", 91, 160, "A")),
    "ACT": (("currency", 4, 3, "A"), ("count", 7, 10, "N"), ("agent_net", 17, 18, "N"),
            ("sign", 35, 1, "A")),
    "ACZ": (("errors", 4, 10, "N"), ("totals", 14, 10, "N")),
}

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                          autoescape=False)


def width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width font (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(label: str, columns: int = LABEL_WIDTH) -> str:
    """A label of the text ack followed by spaces up to ``columns`` (at least one)."""
    return label + " " * max(1, columns - width(label))


_env.filters.update(width=width, pad=pad)


def _ascii(text: object) -> str:
    return str(text).encode("ascii", "replace").decode("ascii").replace("\r", " ").replace(
        "\n", " ")


def _xml_safe(text: object) -> str:
    """``text`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return "".join(ch if ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff"
                   or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000" else "\ufffd"
                   for ch in str(text))


def _line(rid: str, values: dict) -> str:
    buf = list(rid.ljust(WIDTH))
    for name, start, length, kind in ACK_LAYOUT[rid]:
        v = values.get(name)
        if v is None or v == "":
            continue
        text = f"{int(v):0{length}d}"[-length:] if kind == "N" else _ascii(v)[:length]
        buf[start - 1:start - 1 + len(text)] = text
    return "".join(buf)


def accepted_totals(records) -> dict[str, dict]:
    """Agent net per currency over the accepted records (minor units and text)."""
    if records.num_rows == 0:
        return {}
    sums = records.group_by("currency").aggregate([(c, "sum") for c in AMOUNT_COLUMNS] +
                                                  [("source_line", "count")])
    out = {}
    for row in sums.to_pylist():
        net = agent_net({c: row[f"{c}_sum"] for c in AMOUNT_COLUMNS})
        cur = row["currency"] or "???"
        text = format_amount(net, cur) if cur != "???" else str(net)
        out[cur] = {"minor": net, "agent_net": text, "count": row["source_line_count"]}
    return out


def render_fixed(info: dict, verdict) -> bytes:
    totals = accepted_totals(verdict.accepted_records)
    lines = [_line("ACH", {**info, **verdict.counts, "verdict": verdict.verdict,
                           "late": "L" if info.get("late") else ""})]
    lines += [_line("ACE", f.as_dict()) for f in verdict.findings]
    lines += [_line("ACT", {"currency": c, "count": t["count"], "agent_net": abs(t["minor"]),
                            "sign": "-" if t["minor"] < 0 else ""}) for c, t in totals.items()]
    lines.append(_line("ACZ", {"errors": len(verdict.findings), "totals": len(totals)}))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def render_text(info: dict, verdict, language: str = i18n.DEFAULT_LANGUAGE) -> bytes:
    """The text ack a person reads, its labels in ``language`` (the sender's; codes, values
    and the layout are the same in every language, finding messages stay English)."""
    _ = partial(i18n.gettext, language, "statements")
    text = _env.get_template("ack.txt.j2").render(
        **{"late": False, "billed_period": "", **info}, late_text=late_text(info, language),
        title=_(TITLE), _=_,
        verdict_text=_(VERDICT_TEXT[verdict.verdict]), counts=verdict.counts,
        totals=accepted_totals(verdict.accepted_records),
        findings=[f.as_dict() for f in verdict.findings])
    return text.encode("utf-8", "replace")


def parse_fixed(data: bytes) -> dict:
    """Read a fixed-width ack back (what a sender's program does)."""
    out: dict = {"findings": [], "totals": []}
    for raw in data.decode("ascii").splitlines():
        rid = raw[:3]
        if rid not in ACK_LAYOUT:
            continue
        line = raw.ljust(WIDTH)
        values = {}
        for name, start, length, kind in ACK_LAYOUT[rid]:
            text = line[start - 1:start - 1 + length].rstrip()
            values[name] = (int(text) if text else None) if kind == "N" else text
        if rid == "ACH":
            out["header"] = values
        elif rid == "ACE":
            out["findings"].append(values)
        elif rid == "ACT":
            out["totals"].append(values)
        else:
            out["trailer"] = values
    return out


ACK_KINDS = {"fixed": ".ack", "text": ".ack.txt", "xml": ".ack.xml"}


def ack_name(original_name: str, file_id: int, kind: str = "fixed") -> str:
    """``<original>.f<file id>.ack`` (``.ack.txt``, ``.ack.xml``): unique per file id and
    kind, tied to the sender's file. ASCII only; a long original name is cut, never the
    suffix (so no two acks share a name)."""
    return safe_name(original_name, suffix=f".f{file_id:06d}{ACK_KINDS[kind]}")


def late_text(info: dict, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """What a late file's ack says of it ('' when on time)."""
    if not info.get("late"):
        return ""
    return i18n.gettext(language, "statements", LATE_TEXT).format(
        period=info.get("period"), billed_period=info.get("billed_period"))


def received_text(when: dt.datetime | None) -> str:
    return (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_xml(info: dict, verdict) -> bytes:
    """The acknowledgement for XML senders: a ``cb:Acknowledgement`` in the profile (XSD in
    parsers/onerecord/schemas/cb.xsd)."""
    from casslink.parsers.onerecord.profile import LO_BASE
    from casslink.parsers.onerecord.writer import write_nodes

    about = f"{LO_BASE}ack/{info['file_id']}"
    c = verdict.counts
    findings = [("cb:Finding", f"{about}#finding-{i}", {
        "cb:line": f.line, "cb:code": f.code, "cb:severity": f.severity,
        "cb:recordType": f.record_type or None, "cb:field": f.field or None,
        "cb:rawValue": _ascii(f.raw) if f.raw else None, "cb:message": _ascii(f.message)})
        for i, f in enumerate(verdict.findings, start=1)]
    totals = [("cb:CurrencyTotal", f"{about}#total-{cur}", {
        "cb:currency": cur, "cb:recordCount": t["count"], "cb:agentNet": t["agent_net"]})
        for cur, t in accepted_totals(verdict.accepted_records).items() if cur != "???"]
    received = info["received"].replace(" UTC", "Z").replace(" ", "T")
    node = ("cb:Acknowledgement", about, {
        "cb:fileName": _xml_safe(info["name"]), "cb:fileId": info["file_id"],
        "cb:sha256": info["sha256"],
        "cb:receivedAt": received, "cb:channel": info["channel"], "cb:verdict": verdict.verdict,
        "cb:late": bool(info.get("late")) if verdict.verdict != "rejected" else None,
        "cb:billedPeriod": info.get("billed_period") or None,
        "cb:recordsReceived": c["records"], "cb:recordsAccepted": c["accepted"],
        "cb:recordsRejected": c["rejected"], "cb:finding": findings or None,
        "cb:acceptedTotal": totals or None})
    return write_nodes([node])
