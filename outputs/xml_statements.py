"""XML statements in the ONE Record profile, from the run's ledger (settlement currency):

* agent billing statement: one ``cb:StatementLine`` per airline, totals, remittance due and
  the remittance date from the calendar;
* airline settlement statement: one line per agent.

Amounts are ``cargo:Ratings`` keyed by the CASS charge identifiers (code list
ChargeIdentifier): WT weight, VC valuation, OC other charges due carrier, OA other charges
due agent (each with P/C), TX taxes (P/C), CO commission, SI discount (sales incentive),
plus VAT as TX without P/C (due airline - due agent), CN the net of the period's AWB
billings and NI the net invoice amount (billings + CCA/DCM corrections). Lines and totals
are sorted, lexical forms fixed: the same ledger gives the same bytes.

All statements of one kind are rendered together: the profile's writer (``emit``) renders
each element once as a template, and the lines of every statement are filled in column-wise
with Arrow string kernels, then split per statement.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from string import Formatter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import AMOUNT_COLUMNS
from casslink.money import format_amount, format_amounts, minor_unit
from casslink.ordering import runs
from outputs.source import RunData, chunks, in_order
from parsers.onerecord.profile import LO_BASE
from parsers.onerecord.writer import emit, write_nodes

PAIRED = (("WT", "weight"), ("VC", "valuation"), ("OC", "oc_carrier"), ("OA", "oc_agent"),
          ("TX", "taxes"))
LINE_DEPTH = 3  # BillingStatement (1) > cb:line > StatementLine
MARK = "\x00lines\x00"
CHUNK_BILLS = 20_000  # statement lines rendered per pass
THREADS = 2


def agent_statements(run: RunData, codes: list[str] | None = None) -> dict[str, bytes]:
    """Agent code -> its billing statement, for every agent of the run (or ``codes``)."""
    return statements(run, "agent", codes)


def airline_statements(run: RunData, codes: list[str] | None = None) -> dict[str, bytes]:
    """Airline prefix -> its settlement statement, for every airline of the run (or
    ``codes``)."""
    return statements(run, "airline", codes)


def agent_statement(run: RunData, agent_code: str) -> bytes:
    return statements(run, "agent", [agent_code])[agent_code]


def airline_statement(run: RunData, prefix: str) -> bytes:
    return statements(run, "airline", [prefix])[prefix]


def _items(s: dict[str, int]) -> list[tuple[str, str | None, str]]:
    """The (identifier, P/C, amount key) of a line's or total's Ratings, in profile order;
    ``s`` maps amount keys to values (zero amounts are left out, but CN and NI never)."""
    items = []
    for ident, comp in PAIRED:
        for pc_, suffix in (("P", "pp"), ("C", "cc")):
            if s[f"{comp}_{suffix}"]:
                items.append((ident, pc_, f"{comp}_{suffix}"))
    for ident, key in (("CO", "commission"), ("SI", "discount"), ("TX", "vat"),
                       ("CN", "net_billing"), ("NI", "net")):
        if s[key] or ident in ("CN", "NI"):
            items.append((ident, None, key))
    return items


def _ratings(about: str, s: dict[str, int], cur: str) -> list[tuple]:
    nodes = []
    for ident, pc_, key in _items(s):
        v = {"cargo:billingChargeIdentifier": ident,
             "cargo:subTotal": format_amount(s[key], cur)}
        if pc_:
            v["cargo:chargePaymentType"] = pc_
        nodes.append(("cargo:Ratings", f"{about}-{ident}{'-' + pc_ if pc_ else ''}", v))
    return nodes


def _party(kind: str, code: str, about: str) -> tuple:
    if kind == "airline":
        return ("cargo:Carrier", about, {"cargo:prefix": code})
    return ("cargo:Company", about, {"cargo:iataCargoAgentCode": code[:7],
                                     "cargo:iataCargoAgentLocationIdentifier": code[7:]})


def statements(run: RunData, kind: str, codes: list[str] | None = None) -> dict[str, bytes]:
    """``kind`` agent (billing statements) or airline (settlement statements): code -> bytes."""
    key, other = _keys(kind)
    bills = run.ledger["bills"]
    if codes is not None:
        bills = bills.filter(pc.is_in(bills.column(key), pa.array(codes, pa.string())))
    if not bills.num_rows:
        return {}
    bills = in_order(bills, [key, other])
    starts = runs(bills.column(key))
    owners = bills.column(key).take(pa.array(starts[:-1])).to_pylist()

    def render(chunk: tuple[int, int]) -> dict[str, bytes]:
        a, z = chunk
        return _render(run, kind, owners[a:z],
                       bills.slice(int(starts[a]), int(starts[z] - starts[a])))

    out: dict[str, bytes] = {}
    with ThreadPoolExecutor(THREADS) as pool:  # Arrow's kernels release the GIL
        for done in pool.map(render, chunks(starts, CHUNK_BILLS)):
            out.update(done)
    return out


def _render(run: RunData, kind: str, codes: list[str], bills: pa.Table) -> dict[str, bytes]:
    """The statements of ``codes``, whose bills (sorted by owner, then counterparty) these
    are."""
    key, _ = _keys(kind)
    sums = _sums(bills)
    lines, offsets = _lines(run, kind, bills, sums)
    bounds = runs(bills.column(key))
    totals = {k: np.add.reduceat(v, bounds[:-1]) for k, v in sums.items()}
    out = {}
    for i, code in enumerate(codes):
        head, tail = _frame(run, kind, code, {k: int(v[i]) for k, v in totals.items()})
        body = lines[offsets[bounds[i]]:offsets[bounds[i + 1]]]
        out[code] = b"".join((head, body, tail))
    return out


def _keys(kind: str) -> tuple[str, str]:
    """The statement owner's column and the counterparty's."""
    return ("agent_code", "airline_prefix") if kind == "agent" else \
        ("airline_prefix", "agent_code")


def _sums(bills: pa.Table) -> dict[str, np.ndarray]:
    """Each bill's totals over billings and corrections, per component (the ledger's bills
    hold billing, CCA and DCM sums apart), plus VAT, net billing and net."""
    def col(name: str) -> np.ndarray:
        return np.asarray(pc.fill_null(bills.column(name), 0), np.int64)

    out = {c: col(c) + col(f"cca_{c}") + col(f"dcm_{c}") for c in AMOUNT_COLUMNS}
    out["vat"] = out["tax_airline"] - out["tax_agent"]
    out["net"], out["net_billing"] = col("net"), col("net_billing")
    return out


def _frame(run: RunData, kind: str, code: str, total: dict[str, int]) -> tuple[bytes, bytes]:
    """The statement around its lines: header, billed party, totals, remittance due."""
    m, cur = run.manifest, run.currency
    about = f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/{code}"
    node = ("cb:BillingStatement", about, {
        "cb:statementType": "AgentBillingStatement" if kind == "agent"
        else "AirlineSettlementStatement",
        "cb:cassOperation": run.operation, "cb:billingPeriod": run.period_id,
        "cb:periodStart": _date(m["period_start"]), "cb:periodEnd": _date(m["period_end"]),
        "cb:billingDate": _date(m["billing_date"]),
        "cb:remittanceDate": _date(m["remittance_date"]), "cb:statementCurrency": cur,
        "cb:billedParty": _party(kind, code, f"{about}/party"),
        "cb:line": ("cb:StatementLine", MARK, {}),
        "cb:total": _ratings(f"{about}/total", total, cur),
        "cb:remittanceDue": format_amount(total["net"], cur)})
    text = write_nodes([node]).decode()
    start = text.index(MARK)
    start = text.rindex("\n", 0, text.rindex("\n", 0, start)) + 1  # the <cb:line> line
    end = text.index("\n", text.index("</cb:line>", start)) + 1
    return text[:start].encode(), text[end:].encode()


def _lines(run: RunData, kind: str, bills: pa.Table, sums: dict[str, np.ndarray]
           ) -> tuple[memoryview, np.ndarray]:
    """Every bill's ``<cb:line>`` element (in ``bills`` order) and each one's byte offset."""
    n = bills.num_rows
    if not n:
        return memoryview(b""), np.zeros(1, np.int64)
    key, other = _keys(kind)
    base = f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/"
    counterparty = bills.column(other)
    fields = {"line": pc.binary_join_element_wise(base, bills.column(key), "/line/",
                                                  counterparty, ""),
              "code": counterparty,
              "awbs": bills.column("awb_count").cast(pa.string()),
              "ccas": bills.column("cca_records").cast(pa.string()),
              "dcms": bills.column("dcm_records").cast(pa.string())}
    if kind == "airline":  # the counterparty is an agent: IATA code and location apart
        fields["code7"] = pc.utf8_slice_codeunits(counterparty, 0, 7)
        fields["location"] = pc.utf8_slice_codeunits(counterparty, 7)
    digits = minor_unit(run.currency)
    amounts = []
    everything = dict.fromkeys(sums, 1)
    for ident, pc_, name in _items(everything):  # null (left out) where zero, but CN, NI
        always = ident in ("CN", "NI")
        fields[name] = format_amounts(sums[name], digits,
                                      mask=None if always else sums[name] == 0)
        amounts.append(_fill(_rating_template(ident, pc_, name), fields))
    fields["net_text"] = fields["net"]
    head, tail = _line_template("airline" if kind == "agent" else "agent")
    joined = pc.binary_join_element_wise(*_pieces(head, fields), *amounts,
                                         *_pieces(tail, fields), "",
                                         null_handling="replace", null_replacement="")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    offsets = np.frombuffer(joined.buffers()[1], np.int32)[joined.offset: joined.offset + n + 1]
    return memoryview(joined.buffers()[2]), offsets.astype(np.int64)


def _fill(template: str, fields: dict[str, pa.Array]) -> pa.Array:
    return pc.binary_join_element_wise(*_pieces(template, fields), "")


def _pieces(template: str, fields: dict[str, pa.Array]) -> list:
    """A ``{field}`` template as join arguments: its literal text and the field columns."""
    args: list = []
    for literal, name, _, _ in Formatter().parse(template):
        if literal:
            args.append(literal)
        if name is not None:
            args.append(fields[name])
    return args


@cache
def _line_template(counterparty_kind: str) -> tuple[str, str]:
    """``<cb:line>`` up to its Ratings and after them, as written by the profile's writer,
    with ``{field}`` placeholders."""
    node = ("cb:BillingStatement", "x", {"cb:line": ("cb:StatementLine", "{line}", {
        "cb:counterparty": _party(counterparty_kind, "{code7}{location}"
                                  if counterparty_kind == "agent" else "{code}",
                                  "{line}/party"),
        "cb:awbCount": "{awbs}", "cb:ccaRecords": "{ccas}", "cb:dcmRecords": "{dcms}",
        "cb:amount": [("cargo:Ratings", MARK, {})], "cb:netAmount": "{net_text}"})})
    text = _emitted(node)  # _party cuts an agent code at 7 characters: "{code7}" is 7 long
    start = text.index("<cb:line>")
    start = text.rindex("\n", 0, start) + 1
    mark = text.index(MARK)
    cut = text.rindex("\n", 0, text.rindex("\n", 0, mark)) + 1  # before <cb:amount>
    resume = text.index("\n", text.index("</cb:amount>", mark)) + 1
    end = text.index("\n", text.index("</cb:line>", resume)) + 1
    return text[start:cut], text[resume:end]


@cache
def _rating_template(ident: str, pc_: str | None, amount: str) -> str:
    """One line-level ``<cb:amount>`` element, placeholders ``{line}`` and ``{amount}``."""
    value = {"cargo:billingChargeIdentifier": ident, "cargo:subTotal": f"{{{amount}}}"}
    if pc_:
        value["cargo:chargePaymentType"] = pc_
    node = ("cb:BillingStatement", "x", {"cb:line": ("cb:StatementLine", "x", {
        "cb:amount": [("cargo:Ratings", f"{{line}}-{ident}{'-' + pc_ if pc_ else ''}",
                       value)]})})
    text = _emitted(node)
    start = text.rindex("\n", 0, text.index("<cb:amount>")) + 1
    end = text.index("\n", text.index("</cb:amount>")) + 1
    return text[start:end]


def _emitted(node: tuple) -> str:
    out: list[str] = []
    emit(out, node)
    return "\n".join(out) + "\n"


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
