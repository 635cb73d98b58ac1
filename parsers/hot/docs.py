"""Render docs/formats/hot.md from the layout tables (a test keeps the file current)."""

from __future__ import annotations

from casslink.parsers.hot.layouts import FAMILIES, INDICATORS, Field, RecordLayout

KIND_TEXT = {
    "id": "record id", "A": "A", "AN": "AN", "N": "N (digits as text)", "int": "N integer",
    "amount": "N amount, minor units", "amount?": "N amount, optional", "weight": "N, 1 decimal",
    "pct": "N, 2 decimals", "date": "YYMMDD", "rate": "nnnnn.nnnnn", "sign": "sign `-`/blank",
    "filler": "filler",
}


def _target(f: Field) -> str:
    if f.kind in ("filler", "id") or not f.name:
        return ""
    if f.split:
        return f"`{f.name}_pp` / `{f.name}_cc` by `{f.split}`"
    if f.kind == "sign":
        return f"sign of `{f.name}`"
    return f"`{f.name}`"


def _rows(layout: RecordLayout) -> list[str]:
    rows = []
    for f in sorted(layout.fields, key=lambda f: f.start):
        pos = f"{f.start}" if f.length == 1 else f"{f.start}-{f.end}"
        values = f" Values: {', '.join(f.values)}." if f.values else ""
        rows.append(f"| {pos} | {f.length} | {KIND_TEXT[f.kind]} | {_target(f)} | "
                    f"{f.note}{values} | {f.source} |")
    if layout.group:
        g = layout.group
        end = g.start + g.count * g.slot_width - 1
        rows.append(f"| {g.start}-{end} | {g.count}x{g.slot_width} | group | "
                    f"{g.count} slots, see below | casslink-defined repeating group | casslink |")
    return rows


def render() -> str:
    out = [
        "# HOT fixed-width formats",
        "",
        "_Generated from `parsers/hot/layouts.py` by `python -m casslink.parsers.hot.docs`; "
        "do not edit by hand (a test checks it is current)._",
        "",
        "Positions are 1-based and inclusive. Amounts carry the ISO 4217 minor unit of the "
        "record's currency as implied decimals (EUR `000000346290` = 3462.90); the canonical "
        "model stores exactly those integers (minor units). Lines are right-padded to the "
        "record width when shorter (right-trimmed files are accepted); CRLF and LF and a "
        "trailing EOF byte (0x1A) are accepted. The writer emits CRLF.",
        "",
        "Source tags: C2 two sources agree; C1 one implementation plus samples; S one source; "
        "I inference; U unknown meaning; **casslink** = defined by this project where no "
        "source has a layout (see shared/spec/cass-file-formats.md).",
        "",
        "## casslink-defined elements",
        "",
        "* **AW1 / CC3 / DC3** (itemised other charges): prefix, serial, correction number, "
        "side (O/R) and currency, then up to 10 slots of code (2) + entitlement A/C (1) + "
        "P/C (1) + amount (12). A record follows the record it itemises; more than 10 charges "
        "take further records. Trailer counters count these records.",
        "* **Billing trailer hash total** (45-56): the sum of the 8-digit AWB serial fields "
        "(check digit included) of every AWB, CCO, CCR, DCO and DCR record, modulo 10^12, "
        "zero-filled. All blanks = not supplied (accepted with a warning); any other value must "
        "match.",
        "* **Hand-off trailer** 56-62 and 63-69 (SK's AW2/AW3 counters) count CC3 and DC3.",
        "* **Hand-off AWM** 170-181 carries the net AWB amount (as DE CASS does) and column 182 "
        "its sign (`-` for a credit).",
        "* **Hand-off AAA** 33-43 carries the agent's 11-digit code in agent files (DE puts the "
        "7-digit numeric code at 33-39, which reads the same).",
        "",
        "Indicator sets: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in INDICATORS.items())
        + ".",
        "",
    ]
    for fam in FAMILIES.values():
        out += [f"## {fam.title}", "", f"Family `{fam.name}`; record id width {fam.id_width}; "
                f"record width {fam.width}."]
        if fam.header_aliases:
            out.append(f"Header ids accepted on input: {fam.header.record_id}, "
                       + ", ".join(fam.header_aliases) + ".")
        out.append("")
        seen = set()
        for layout in (fam.header, *fam.records, fam.trailer):
            if id(layout) in seen:
                continue
            seen.add(id(layout))
            title = f"### `{layout.record_id}` — {layout.title} ({layout.width} columns)"
            if layout.canonical:
                title += f", canonical `{layout.canonical}`"
            out += [title, "", "| Pos | Len | Format | Canonical column | Notes | Source |",
                    "|---|---|---|---|---|---|", *_rows(layout), ""]
            if layout.group:
                out += ["Each slot:", "", "| Pos in slot | Len | Format | Canonical column | "
                        "Notes | Source |", "|---|---|---|---|---|---|",
                        *_rows(RecordLayout(layout.record_id, "record", layout.group.slot_width,
                                            layout.group.fields)), ""]
    return "\n".join(out).rstrip() + "\n"


def render_canonical() -> str:
    from casslink.canonical import CHARGE_FIELDS, RECORD_FIELDS
    from casslink.canonical import __doc__ as canonical_doc

    out = ["# Canonical billing-record model", "",
           "_Generated from `casslink/canonical.py` by `python -m casslink.parsers.hot.docs`._", "",
           (canonical_doc or "").strip(), "", "## `records`", "",
           "| Column | Arrow type | Meaning |", "|---|---|---|"]
    out += [f"| `{n}` | {t} | {d} |" for n, t, d in RECORD_FIELDS]
    out += ["", "## `charges`", "", "| Column | Arrow type | Meaning |", "|---|---|---|"]
    out += [f"| `{n}` | {t} | {d} |" for n, t, d in CHARGE_FIELDS]
    return "\n".join(out) + "\n"


DOCS = {"docs/formats/hot.md": render, "docs/formats/canonical-model.md": render_canonical}

if __name__ == "__main__":  # pragma: no cover
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for rel, fn in DOCS.items():
        (root / rel).write_text(fn())
        print(f"wrote {rel}")
