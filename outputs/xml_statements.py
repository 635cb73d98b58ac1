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
"""

from __future__ import annotations

from casslink.canonical import AMOUNT_COLUMNS
from casslink.money import format_amount
from outputs.source import RunData
from parsers.onerecord.profile import LO_BASE
from parsers.onerecord.writer import write_nodes

PAIRED = (("WT", "weight"), ("VC", "valuation"), ("OC", "oc_carrier"), ("OA", "oc_agent"),
          ("TX", "taxes"))


def _sums(bill: dict) -> dict[str, int]:
    """A bill's totals over billings and corrections, per component (the ledger's bills
    hold billing, CCA and DCM sums apart)."""
    out = {c: bill[c] + bill[f"cca_{c}"] + bill[f"dcm_{c}"] for c in AMOUNT_COLUMNS}
    out["net"], out["net_billing"] = bill["net"], bill["net_billing"]
    return out


def _ratings(about: str, s: dict[str, int], cur: str) -> list[tuple]:
    items = []
    for ident, comp in PAIRED:
        for pc_, suffix in (("P", "pp"), ("C", "cc")):
            if s.get(f"{comp}_{suffix}"):
                items.append((ident, pc_, s[f"{comp}_{suffix}"]))
    for ident, value in (("CO", s["commission"]), ("SI", s["discount"]),
                         ("TX", s["tax_airline"] - s["tax_agent"]), ("CN", s["net_billing"]),
                         ("NI", s["net"])):
        if value or ident in ("CN", "NI"):
            items.append((ident, None, value))
    nodes = []
    for ident, pc_, value in items:
        v = {"cargo:billingChargeIdentifier": ident, "cargo:subTotal": format_amount(value, cur)}
        if pc_:
            v["cargo:chargePaymentType"] = pc_
        nodes.append(("cargo:Ratings", f"{about}-{ident}{'-' + pc_ if pc_ else ''}", v))
    return nodes


def _party(kind: str, code: str, about: str) -> tuple:
    if kind == "airline":
        return ("cargo:Carrier", about, {"cargo:prefix": code})
    return ("cargo:Company", about, {"cargo:iataCargoAgentCode": code[:7],
                                     "cargo:iataCargoAgentLocationIdentifier": code[7:]})


def statement(run: RunData, kind: str, code: str) -> bytes:
    """``kind`` agent (billing statement) or airline (settlement statement)."""
    m, cur = run.manifest, run.currency
    key, other = ("agent_code", "airline_prefix") if kind == "agent" else \
        ("airline_prefix", "agent_code")
    other_kind = "airline" if kind == "agent" else "agent"
    bills = run.rows("bills", key, code).sort_by(other)
    about = f"{LO_BASE}statement/{run.operation}/{run.period_id}/{kind}/{code}"
    items = []
    rows = bills.to_pylist()
    sums = [_sums(b) for b in rows]
    for b, s in zip(rows, sums, strict=True):
        c = b[other]
        line_iri = f"{about}/line/{c}"
        items.append(("cb:StatementLine", line_iri, {
            "cb:counterparty": _party(other_kind, c, f"{line_iri}/party"),
            "cb:awbCount": b["awb_count"], "cb:ccaRecords": b["cca_records"],
            "cb:dcmRecords": b["dcm_records"], "cb:amount": _ratings(line_iri, s, cur),
            "cb:netAmount": format_amount(b["net"], cur)}))
    total = {k: sum(s[k] for s in sums) for k in (*AMOUNT_COLUMNS, "net", "net_billing")}
    node = ("cb:BillingStatement", about, {
        "cb:statementType": "AgentBillingStatement" if kind == "agent"
        else "AirlineSettlementStatement",
        "cb:cassOperation": run.operation, "cb:billingPeriod": run.period_id,
        "cb:periodStart": _date(m["period_start"]), "cb:periodEnd": _date(m["period_end"]),
        "cb:billingDate": _date(m["billing_date"]),
        "cb:remittanceDate": _date(m["remittance_date"]), "cb:statementCurrency": cur,
        "cb:billedParty": _party(kind, code, f"{about}/party"), "cb:line": items or None,
        "cb:total": _ratings(f"{about}/total", total, cur),
        "cb:remittanceDue": format_amount(total["net"], cur)})
    return write_nodes([node])


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


def agent_statement(run: RunData, agent_code: str) -> bytes:
    return statement(run, "agent", agent_code)


def airline_statement(run: RunData, prefix: str) -> bytes:
    return statement(run, "airline", prefix)
