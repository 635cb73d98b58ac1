"""Canonical billing batch -> profile XML (deterministic: fixed element order from the profile,
fixed lexical forms, one element per line). The same tables always give the same bytes.

Corrections are written as explicit original/revised pairs: one ``cargo:BillingDetails`` per
CCO/CCR/DCO/DCR record, ``cb:recordType`` saying which, and ``cargo:adjustments`` carrying the
CCA/DCM number (``correctionSerialNumber``) and the reason. Itemised other charges are the
record's ``cargo:Waybill/cargo:otherCharges``; money components are ``cb:amount`` Ratings keyed
by the CASS charge identifier (WT, VC, OC, OA, TX) and P/C.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import FileHeader
from casslink.money import format_amount
from casslink.parsers.onerecord.profile import (
    CLASSES,
    COMPONENT_RATINGS,
    LO_BASE,
    NSMAP,
    XSD,
    code_iri,
)

Node = tuple  # (class qname, about IRI, {prop qname: value | [values]})


def _lexical(kind: str, value) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "dateTime":
        return f"{value.isoformat()}T00:00:00Z" if isinstance(value, dt.date) else str(value)
    if kind == "date":
        return value.isoformat()
    return str(value)


def emit(out: list[str], node: Node, depth: int = 1) -> None:
    cls, about, values = node
    pad = " " * depth
    out.append(f"{pad}<{cls} rdf:about={quoteattr(about)}>")
    for p in CLASSES[cls]:
        value = values.get(p.qname)
        if value is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            if p.is_node:
                out.append(f"{pad} <{p.qname}>")
                emit(out, v, depth + 2)
                out.append(f"{pad} </{p.qname}>")
            elif p.kind == "ref":
                out.append(f"{pad} <{p.qname} rdf:resource={quoteattr(v)}/>")
            elif p.code_list:
                out.append(f"{pad} <{p.qname} rdf:resource={quoteattr(code_iri(p.code_list, v))}/>")
            elif p.kind == "string":
                out.append(f"{pad} <{p.qname}>{escape(str(v))}</{p.qname}>")
            else:
                out.append(f"{pad} <{p.qname} rdf:datatype=\"{XSD}{p.kind}\">"
                           f"{escape(_lexical(p.kind, v))}</{p.qname}>")
    out.append(f"{pad}</{cls}>")


def _dec(value: int, places: int) -> str:
    return format(Decimal(int(value)).scaleb(-places), "f")


def record_iri(r: dict) -> str:
    base = f"{LO_BASE}billing/{r['airline_prefix']}-{r['awb_serial']}"
    if r["record_type"] == "AWB":
        return base
    kind = "cca" if r["record_type"].startswith("CC") else "dcm"
    side = "original" if r["record_type"].endswith("O") else "revised"
    return f"{base}/{kind}/{r['correction_number']}/{side}"


def _money(about: str, minor: int, currency: str) -> Node:
    return ("cargo:CurrencyValue", about, {"cargo:currencyUnit": currency,
                                           "cargo:numericalValue": format_amount(minor, currency)})


def _location(about: str, code: str | None) -> Node | None:
    if not code:
        return None
    return ("cargo:Location", about, {"cargo:locationCodes": (
        "cargo:CodeListElement", about + "-code",
        {"cargo:code": code, "cargo:codeListName": "IATA location code"})})


def record_node(r: dict, charges: list[dict]) -> Node:
    about = record_iri(r)
    cur = r["currency"]
    v: dict = {"cb:recordType": r["record_type"], "cb:currency": cur}
    if r["correction_number"] is not None or r["reason"] is not None:
        adj = {"cargo:correctionSerialNumber": r["correction_number"] or ""}
        if r["reason"] is not None:
            adj["cargo:reasonsForAdjustments"] = r["reason"]
        v["cargo:adjustments"] = ("cargo:Adjustments", about + "#adjustments", adj)
    if r["acceptance_date"] is not None:
        v["cargo:awbAcceptanceDate"] = r["acceptance_date"]
    if r["execution_date"] is not None:
        v["cargo:awbExecutionDate"] = r["execution_date"]
    if r["awb_use_indicator"] in ("R", "S", "V"):
        v["cargo:awbUseIndicator"] = r["awb_use_indicator"]
    elif r["awb_use_indicator"] is not None:
        v["cb:awbUseIndicatorCode"] = r["awb_use_indicator"]
    if r["commission"]:
        v["cargo:commission"] = format_amount(r["commission"], cur)
    if r["commission_pct_e2"] is not None:
        v["cargo:commissionPercentage"] = _dec(r["commission_pct_e2"], 2)
    if r["discount"]:
        v["cargo:discount"] = format_amount(r["discount"], cur)
    if r["exchange_rate_e5"] is not None:
        v["cargo:exchangeRate"] = _dec(r["exchange_rate_e5"], 5)
    if r["tax_agent"]:
        v["cargo:taxDueAgent"] = _money(about + "#tax-agent", r["tax_agent"], cur)
    if r["tax_airline"]:
        v["cargo:taxDueAirline"] = _money(about + "#tax-airline", r["tax_airline"], cur)
    if r["vat_indicator"] in ("Y", "N"):
        v["cargo:vatIndicator"] = r["vat_indicator"] == "Y"
    elif r["vat_indicator"] is not None:
        v["cb:vatIndicatorCode"] = r["vat_indicator"]
    v["cb:amount"] = [("cargo:Ratings", f"{about}#{ident}-{pc_}",
                       {"cargo:billingChargeIdentifier": ident, "cargo:chargePaymentType": pc_,
                        "cargo:subTotal": format_amount(r[comp], cur)})
                      for comp, (ident, pc_) in COMPONENT_RATINGS.items() if r[comp]]
    for col, prop in (("valuation_pc", "cb:valuationIndicator"),
                      ("taxes_pc", "cb:taxesIndicator"),
                      ("oc_agent_pc", "cb:agentChargesIndicator")):
        if r[col] is not None:
            v[prop] = r[col]
    for col, prop in (("commission_indicator", "cb:commissionIndicator"),
                      ("branch_indicator", "cb:branchIndicator"),
                      ("late_indicator", "cb:lateIndicator"),
                      ("agent_reference", "cb:agentReference"), ("reason_code", "cb:reasonCode"),
                      ("contract", "cb:contract"), ("adjustment_rate", "cb:adjustmentRate")):
        if r[col] is not None:
            v[prop] = r[col]
    if r["invoice_indicator"] is not None:
        v["cb:invoiceIndicator"] = r["invoice_indicator"]
    if r["net_amount"] is not None:
        v["cb:netAmount"] = format_amount(r["net_amount"], cur)
    if r["weight_tenths"] is not None and r["weight_unit"] not in ("K", "L"):
        v["cb:weightUnitCode"] = r["weight_unit"] or ""  # empty: the unit was not given
    v["cargo:detailedWaybill"] = _waybill(r, about, charges)
    return ("cargo:BillingDetails", about, v)


def _waybill(r: dict, about: str, charges: list[dict]) -> Node:
    w = about + "#waybill"
    v: dict = {"cargo:waybillNumber": r["awb_serial"] or "",
               "cargo:waybillPrefix": r["airline_prefix"] or ""}
    v["cargo:arrivalLocation"] = _location(w + "-destination", r["destination"])
    v["cargo:departureLocation"] = _location(w + "-origin", r["origin"])
    parties = []
    if r["agent_code"]:
        code = r["agent_code"]
        parties.append(("cargo:Party", w + "-agent", {
            "cargo:partyDetails": ("cargo:Company", w + "-agent-company", {
                "cargo:iataCargoAgentCode": code[:7],
                "cargo:iataCargoAgentLocationIdentifier": code[7:]}),
            "cargo:partyRole": "AGT"}))
    v["cargo:involvedParties"] = parties or None
    v["cargo:otherCharges"] = [
        ("cargo:OtherCharge", f"{w}-oc{i}", {
            "cargo:chargePaymentType": c["pc"], "cargo:entitlement": c["entitlement"],
            "cargo:otherChargeAmount": _money(f"{w}-oc{i}-amount", c["amount"], c["currency"]),
            "cargo:otherChargeCode": c["charge_code"]})
        for i, c in enumerate(charges, start=1)] or None
    if r["oc_carrier_pc"] is not None:
        v["cargo:otherChargesIndicator"] = r["oc_carrier_pc"]
    if r["weight_tenths"] is not None:
        v["cargo:shipment"] = ("cargo:Shipment", w + "-shipment", {
            "cargo:totalGrossWeight": ("cargo:Value", w + "-weight", {
                "cargo:numericalValue": _dec(r["weight_tenths"], 1),
                "cargo:unit": "LBR" if r["weight_unit"] == "L" else "KGM"})})
    if r["weight_pc"] is not None:
        v["cargo:weightValuationIndicator"] = r["weight_pc"]
    return ("cargo:Waybill", w, v)


def header_node(h: FileHeader, batch_iri: str) -> Node:
    v: dict = {"cb:fileFamily": h.family or "billing", "cb:cassOperation": h.operation or ""}
    for attr, prop in (("airline_prefix", "cb:billingParticipant"), ("agent_code", "cb:agentCode"),
                       ("branch_indicator", "cb:branchIndicator"),
                       ("office_code", "cb:officeCode")):
        if getattr(h, attr):
            v[prop] = getattr(h, attr)
    for attr, prop in (("period_start", "cb:periodStart"), ("period_end", "cb:periodEnd"),
                       ("billing_date", "cb:billingDate"), ("file_number", "cb:fileNumber")):
        if getattr(h, attr) is not None:
            v[prop] = getattr(h, attr)
    if h.currency:
        v["cb:billingCurrency"] = h.currency
    v["cb:headerOf"] = batch_iri
    return ("cb:BatchHeader", batch_iri + "#header", v)


def batch_iri(h: FileHeader) -> str:
    who = h.airline_prefix or h.agent_code or "unknown"
    period = f"{h.period_start}_{h.period_end}" if h.period_start else "noperiod"
    return f"{LO_BASE}batch/{h.family or 'billing'}/{h.operation or 'XX'}/{who}/{period}/" \
           f"{h.file_number or 0}"


def _charges_by_parent(charges: pa.Table) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    if charges is None or charges.num_rows == 0:
        return out
    order = pc.sort_indices(charges, [("source_line", "ascending"), ("slot", "ascending")])
    for c in charges.take(order).to_pylist():
        key = (c["parent_type"], c["airline_prefix"], c["awb_serial"], c["correction_number"])
        out.setdefault(key, []).append(c)
    return out


def write_xml(header: FileHeader, records: pa.Table, charges: pa.Table | None = None) -> bytes:
    """The whole batch as profile XML (UTF-8)."""
    iri = batch_iri(header)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           "<rdf:RDF " + " ".join(f'xmlns:{p}="{u}"' for p, u in NSMAP.items()) + ">"]
    emit(out, header_node(header, iri))
    by_parent = _charges_by_parent(charges)
    out.append(f" <api:Collection rdf:about={quoteattr(iri)}>")
    for r in records.to_pylist():
        key = (r["record_type"], r["airline_prefix"], r["awb_serial"], r["correction_number"])
        out.append("  <api:hasItem>")
        emit(out, record_node(r, by_parent.pop(key, [])), 3)
        out.append("  </api:hasItem>")
    out.append(f'  <api:hasTotalItems rdf:datatype="{XSD}nonNegativeInteger">'
               f"{records.num_rows}</api:hasTotalItems>")
    out.append(" </api:Collection>")
    out.append("</rdf:RDF>")
    return ("\n".join(out) + "\n").encode("utf-8")


def write_nodes(nodes: list[Node]) -> bytes:
    """Top-level profile nodes (acknowledgements, statements) as one ``rdf:RDF`` document."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           "<rdf:RDF " + " ".join(f'xmlns:{p}="{u}"' for p, u in NSMAP.items()) + ">"]
    for node in nodes:
        emit(out, node)
    out.append("</rdf:RDF>")
    return ("\n".join(out) + "\n").encode("utf-8")
