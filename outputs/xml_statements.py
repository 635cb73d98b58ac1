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

All statements of one kind are rendered together: the profile's writer renders each element
once as a template (a statement around :class:`~parsers.onerecord.writer.Slot` markers where
its lines and totals go, split at them; a line's elements from the ``LINE_ELEMENTS`` and
``RATINGS`` tables), and the lines of every statement are filled in by the C row kernel
(``casslink.kernels.format_rows``), then split per statement.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from string import Formatter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import AMOUNT_COLUMNS
from casslink.kernels import Ops, dec, format_rows, ints, lit, strs, when
from casslink.money import format_amount, minor_unit
from casslink.ordering import runs
from casslink.outputs.source import RunData, chunks, in_order
from casslink.outputs.workers import map_chunks
from casslink.parsers.onerecord.profile import LO_BASE
from casslink.parsers.onerecord.writer import Slot, emit_property, write_nodes
from casslink.storage import Pieces

RATINGS = (  # a line's and a total's Ratings, in this order: (identifier, P/C, amount
    # key, always written; else left out where zero)
    ("WT", "P", "weight_pp", False), ("WT", "C", "weight_cc", False),
    ("VC", "P", "valuation_pp", False), ("VC", "C", "valuation_cc", False),
    ("OC", "P", "oc_carrier_pp", False), ("OC", "C", "oc_carrier_cc", False),
    ("OA", "P", "oc_agent_pp", False), ("OA", "C", "oc_agent_cc", False),
    ("TX", "P", "taxes_pp", False), ("TX", "C", "taxes_cc", False),
    ("CO", None, "commission", False), ("SI", None, "discount", False),
    ("TX", None, "vat", False), ("CN", None, "net_billing", True), ("NI", None, "net", True),
)
ALWAYS = {key: always for _, _, key, always in RATINGS}
LINE_ELEMENTS = {  # a statement line's elements (the profile orders them) -> bill column
    "cb:awbCount": "awb_count", "cb:ccaRecords": "cca_records", "cb:dcmRecords": "dcm_records"}
STATEMENT = "cb:BillingStatement"
STATEMENT_DEPTH = 1  # the writer's depth of a top-level node (a statement)
LINES, TOTALS, AMOUNTS = Slot("\x00lines\x00"), Slot("\x00totals\x00"), Slot("\x00amounts\x00")
TAXES = Slot("\x00taxes\x00")
DISPUTES = Slot("\x00disputes\x00")
CHUNK_BILLS = 20_000  # statement lines rendered per pass


def agent_statements(run: RunData, codes: list[str] | None = None) -> dict[str, Pieces]:
    """Agent code -> its billing statement, for every agent of the run (or ``codes``)."""
    return statements(run, "agent", codes)


def airline_statements(run: RunData, codes: list[str] | None = None) -> dict[str, Pieces]:
    """Airline prefix -> its settlement statement, for every airline of the run (or
    ``codes``)."""
    return statements(run, "airline", codes)


def agent_statement(run: RunData, agent_code: str) -> bytes:
    return bytes(statements(run, "agent", [agent_code])[agent_code])


def airline_statement(run: RunData, prefix: str) -> bytes:
    return bytes(statements(run, "airline", [prefix])[prefix])


def _items(s: dict[str, int]) -> list[tuple[str, str | None, str]]:
    """The (identifier, P/C, amount key) of a line's or total's Ratings (:data:`RATINGS`);
    ``s`` maps amount keys to values (zero amounts are left out, but the ones always
    written)."""
    return [(ident, pc_, key) for ident, pc_, key, always in RATINGS if always or s[key]]


def _party(kind: str, code: str, about: str) -> tuple:
    if kind == "airline":
        return ("cargo:Carrier", about, {"cargo:prefix": code})
    return ("cargo:Company", about, {"cargo:iataCargoAgentCode": code[:7],
                                     "cargo:iataCargoAgentLocationIdentifier": code[7:]})


def statements(run: RunData, kind: str, codes: list[str] | None = None) -> dict[str, Pieces]:
    """``kind`` agent (billing statements) or airline (settlement statements): code -> the
    statement's bytes, as :class:`~casslink.storage.Pieces`."""
    key, other = _keys(kind)
    bills = run.ledger["bills"]
    if codes is not None:
        bills = bills.filter(pc.is_in(bills.column(key), pa.array(codes, pa.string())))
    if not bills.num_rows:
        return {}
    bills = in_order(bills, [key, other])
    starts = runs(bills.column(key))
    owners = bills.column(key).take(pa.array(starts[:-1])).to_pylist()

    def render(chunk: tuple[int, int]) -> dict[str, Pieces]:
        a, z = chunk
        return _render(run, kind, owners[a:z],
                       bills.slice(int(starts[a]), int(starts[z] - starts[a])))

    out: dict[str, Pieces] = {}
    for done in map_chunks(render, chunks(starts, CHUNK_BILLS)):  # threads: the row kernel
        out.update(done)  # releases the GIL, and the files are large to send between processes
    return out


def _render(run: RunData, kind: str, codes: list[str], bills: pa.Table) -> dict[str, Pieces]:
    """The statements of ``codes``, whose bills (sorted by owner, then counterparty) these
    are: each its head, lines and tail, pieces of the buffers they were rendered into."""
    key, _ = _keys(kind)
    sums = _sums(bills)
    lines, offsets = _lines(run, kind, bills, sums)
    bounds = runs(bills.column(key))
    totals = {k: np.add.reduceat(v, bounds[:-1]) for k, v in sums.items()}
    heads, head_at, tails, tail_at = _frames(run, kind, codes, totals)
    return {code: Pieces((heads[head_at[i]:head_at[i + 1]],  # views, not copies
                          lines[offsets[bounds[i]]:offsets[bounds[i + 1]]],
                          tails[tail_at[i]:tail_at[i + 1]]))
            for i, code in enumerate(codes)}


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


def _frames(run: RunData, kind: str, codes: list[str], totals: dict[str, np.ndarray]
            ) -> tuple[memoryview, np.ndarray, memoryview, np.ndarray]:
    """Each statement around its lines (header, billed party; totals, remittance due): the
    texts before and after the lines, and where each statement's starts in them."""
    owners = pa.array(codes, pa.string())
    fields = {"about": lit(f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/")
              + strs(owners), "code": strs(owners),
              "code7": strs(pc.utf8_slice_codeunits(owners, 0, 7)),
              "location": strs(pc.utf8_slice_codeunits(owners, 7))}
    digits = minor_unit(run.currency)
    head, between, tail = _frame_template(run, kind)
    after: Ops = _ops(between, fields)
    for ident, pc_, name in _items(dict.fromkeys(totals, 1)):  # left out where zero
        fields[name] = dec(totals[name], digits)
        rating = _ops(_rating_template(ident, pc_, name, "total"), fields)
        after += rating if ALWAYS[name] else when(totals[name] != 0, rating)
    fields["taxes"] = strs(pa.array(_tax_elements(run, kind, codes), pa.string()), escape=False)
    fields["disputes"] = strs(pa.array(_dispute_elements(run, kind, codes), pa.string()),
                              escape=False)
    heads, head_at = format_rows(len(codes), _ops(head, fields))
    tails, tail_at = format_rows(len(codes), after + _ops(tail, fields))
    return memoryview(heads), head_at, memoryview(tails), tail_at


def _tax_elements(run: RunData, kind: str, codes: list[str]) -> list[str]:
    """Each statement's ``<cb:tax>`` elements: its tax per code and rate (base, tax) from the
    run's tax table, in code and rate order ("" where none)."""
    key, _ = _keys(kind)
    tax = run.ledger["tax"]
    out = dict.fromkeys(codes, "")
    if not tax.num_rows:
        return list(out.values())
    tax = tax.filter(pc.is_in(tax.column(key), pa.array(codes, pa.string())))
    if not tax.num_rows:
        return list(out.values())
    g = tax.group_by([key, "code", "name", "side", "rate_bp"], use_threads=False).aggregate(
        [("base", "sum"), ("tax", "sum")])
    base = f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/"
    for r in sorted(g.to_pylist(), key=lambda r: (r[key], r["code"], r["rate_bp"])):
        about = f"{base}{r[key]}/tax-{r['code']}-{r['rate_bp']}"
        out[r[key]] += _property("cb:tax", ("cb:TaxAmount", about, {
            "cb:taxCode": r["code"], "cb:taxName": r["name"], "cb:taxSide": r["side"],
            "cb:rateBasisPoints": str(r["rate_bp"]),
            "cb:taxBase": format_amount(r["base_sum"], run.currency),
            "cb:taxAmount": format_amount(r["tax_sum"], run.currency)}))
    return list(out.values())


def _dispute_elements(run: RunData, kind: str, codes: list[str]) -> list[str]:
    """Each statement's ``<cb:disputedAwb>`` elements: its AWBs under dispute
    (``run.dispute_marks``) with the dispute's id, status and, once decided, the accepted
    amount, in counterparty and AWB order ("" where none)."""
    out = dict.fromkeys(codes, "")
    owner_at, other_at = (2, 0) if kind == "agent" else (0, 2)
    base = f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/"
    for key, mark in sorted(run.dispute_marks.items(), key=lambda kv: (
            kv[0][owner_at], kv[0][other_at], kv[0][1])):
        owner = key[owner_at]
        if owner not in out:
            continue
        awb = f"{key[0]}-{key[1]}"
        value = {"cb:awbNumber": awb, "cb:counterpartyCode": key[other_at],
                 "cb:disputeId": str(mark.dispute_id), "cb:disputeStatus": mark.status}
        if mark.decided:
            value["cb:acceptedAmount"] = format_amount(mark.accepted_minor, run.currency)
        out[owner] += _property("cb:disputedAwb", (
            "cb:DisputedAwb", f"{base}{owner}/dispute-{mark.dispute_id}", value))
    return list(out.values())


@cache
def _frame_template_of(kind: str, operation: str, period: str, dates: tuple[dt.date, ...],
                       currency: str) -> tuple[str, str, str]:
    """(before the lines, between the lines and the totals, after the totals) of a
    statement, as written by the profile's writer, placeholders ``{about}``, ``{code}`` (or
    ``{code7}{location}``) and ``{net}``."""
    party = "{code}" if kind == "airline" else "{code7}{location}"
    node = ("cb:BillingStatement", "{about}", {
        "cb:statementType": "AgentBillingStatement" if kind == "agent"
        else "AirlineSettlementStatement",
        "cb:cassOperation": operation, "cb:billingPeriod": period,
        **dict(zip(("cb:periodStart", "cb:periodEnd", "cb:billingDate", "cb:remittanceDate"),
                   dates, strict=True)),
        "cb:statementCurrency": currency,
        "cb:billedParty": _party(kind, party, "{about}/party"),
        "cb:line": LINES, "cb:total": TOTALS, "cb:tax": TAXES, "cb:disputedAwb": DISPUTES,
        "cb:remittanceDue": "{net}"})
    head, rest = write_nodes([node]).decode().split(LINES + "\n")
    between, tail = rest.split(TOTALS + "\n")
    return head, between, tail.replace(TAXES + "\n", "{taxes}").replace(DISPUTES + "\n",
                                                                        "{disputes}")


def _frame_template(run: RunData, kind: str) -> tuple[str, str, str]:
    m = run.manifest
    dates = tuple(_date(m[k]) for k in ("period_start", "period_end", "billing_date",
                                        "remittance_date"))
    return _frame_template_of(kind, run.operation, run.period_id, dates, run.currency)


def _lines(run: RunData, kind: str, bills: pa.Table, sums: dict[str, np.ndarray]
           ) -> tuple[memoryview, np.ndarray]:
    """Every bill's ``<cb:line>`` element (in ``bills`` order) and each one's byte offset."""
    n = bills.num_rows
    if not n:
        return memoryview(b""), np.zeros(1, np.int64)
    key, other = _keys(kind)
    base = f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/"
    counterparty = bills.column(other)
    fields = {"line": lit(base) + strs(bills.column(key)) + lit("/line/") + strs(counterparty),
              "code": strs(counterparty),
              **{c: ints(np.asarray(bills.column(c), np.int64))
                 for c in LINE_ELEMENTS.values()}}
    if kind == "airline":  # the counterparty is an agent: IATA code and location apart
        fields["code7"] = strs(pc.utf8_slice_codeunits(counterparty, 0, 7))
        fields["location"] = strs(pc.utf8_slice_codeunits(counterparty, 7))
    digits = minor_unit(run.currency)
    amounts: Ops = []
    for ident, pc_, name in _items(dict.fromkeys(sums, 1)):  # left out where zero, but CN, NI
        fields[name] = dec(sums[name], digits)
        rating = _ops(_rating_template(ident, pc_, name), fields)
        amounts += rating if ALWAYS[name] else when(sums[name] != 0, rating)
    fields["net_text"] = fields["net"]
    head, tail = _line_template("airline" if kind == "agent" else "agent")
    data, offsets = format_rows(n, _ops(head, fields) + amounts + _ops(tail, fields))
    return memoryview(data), offsets


def _ops(template: str, fields: dict[str, Ops]) -> Ops:
    """A ``{field}`` template as a row program: its literal text and the fields' programs."""
    ops: Ops = []
    for literal, name, _, _ in Formatter().parse(template):
        if literal:
            ops += lit(literal)
        if name is not None:
            ops += fields[name]
    return ops


@cache
def _line_template(counterparty_kind: str) -> tuple[str, str]:
    """``<cb:line>`` up to its Ratings and after them, as written by the profile's writer,
    with ``{field}`` placeholders."""
    node = ("cb:StatementLine", "{line}", {
        "cb:counterparty": _party(counterparty_kind, "{code7}{location}"
                                  if counterparty_kind == "agent" else "{code}",
                                  "{line}/party"),
        **{element: f"{{{column}}}" for element, column in LINE_ELEMENTS.items()},
        "cb:amount": AMOUNTS, "cb:netAmount": "{net_text}"})
    head, tail = _property("cb:line", node).split(AMOUNTS + "\n")
    return head, tail  # _party cuts an agent code at 7 characters: "{code7}" is 7 long


@cache
def _rating_template(ident: str, pc_: str | None, amount: str, level: str = "line") -> str:
    """One ``<cb:amount>`` element of a line (placeholders ``{line}`` and ``{<amount>}``) or
    ``<cb:total>`` of a statement (``level`` total: ``{about}`` and ``{<amount>}``)."""
    value = {"cargo:billingChargeIdentifier": ident, "cargo:subTotal": f"{{{amount}}}"}
    if pc_:
        value["cargo:chargePaymentType"] = pc_
    suffix = f"-{ident}{'-' + pc_ if pc_ else ''}"
    if level == "line":  # a StatementLine's property, the line a property of the statement
        return _property("cb:amount", ("cargo:Ratings", "{line}" + suffix, value), "line")
    return _property("cb:total", ("cargo:Ratings", "{about}/total" + suffix, value))


def _property(qname: str, value: tuple, of: str = "statement") -> str:
    """The elements of a statement's property (``of`` statement, at the statement's depth)
    or of a statement line's (``of`` line, where the line's node sits), as the writer puts
    them."""
    out: list[str] = []
    if of == "statement":
        emit_property(out, STATEMENT, qname, value, STATEMENT_DEPTH)
    else:
        emit_property(out, "cb:StatementLine", qname, value, STATEMENT_DEPTH + 2)
    return "\n".join(out) + "\n"


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
