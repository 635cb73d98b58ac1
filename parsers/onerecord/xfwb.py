"""Cargo-XML XFWB (e-AWB, namespaces ``iata:waybill:1`` / ``iata:datamodel:3``) as a billing
input for one AWB, mapped as IATA's XFWB -> ONE Record mapping does:

* AWB number: ``BusinessHeaderDocument/ID`` (``020-68548340``);
* origin / destination: ``MasterConsignment/OriginLocation/ID``, ``FinalDestinationLocation/ID``;
* execution date: ``SignatoryCarrierAuthentication/ActualDateTime``;
* agent: ``FreightForwarderParty/CargoAgentID`` (7 digits) + ``SpecifiedCargoAgentLocation/ID``
  (4 digits) = the 11-digit CASS code;
* weight: ``IncludedTareGrossWeightMeasure`` (unitCode KGM/LBR);
* totals per ``ApplicablePrepaidCollectMonetarySummation`` (``PrepaidIndicator`` true = PP):
  WeightChargeTotalAmount, ValuationChargeTotalAmount, TaxTotalAmount, AgentTotalDuePayable
  (other charges due agent), CarrierTotalDuePayable (due carrier);
* itemised other charges: ``ApplicableLogisticsAllowanceCharge`` - ``ID`` is the 2-letter
  code, ``PartyTypeCode`` the entitlement (A agent / C carrier), ``PrepaidIndicator`` P/C.

Commission and discount are not in an XFWB (they are CASS billing data): 0. The operation and
period come from the context (ingest assigns them). Streaming is not needed: one AWB a file.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pyarrow as pa
from lxml import etree

from casslink.canonical import (
    AMOUNT_COLUMNS,
    CHARGES_SCHEMA,
    RECORDS_SCHEMA,
    BillingBatch,
    FileHeader,
    Finding,
)
from casslink.money import to_minor
from casslink.parsers.onerecord.reader import MAX_AMOUNT, X_NOT_WELL_FORMED, X_VALUE, refuse_doctype

WAYBILL_NS, DM_NS = "iata:waybill:1", "iata:datamodel:3"
SUMMATION = {"WeightChargeTotalAmount": "weight", "ValuationChargeTotalAmount": "valuation",
             "TaxTotalAmount": "taxes", "AgentTotalDuePayableAmount": "oc_agent",
             "CarrierTotalDuePayableAmount": "oc_carrier"}


def is_xfwb(data: bytes) -> bool:
    head = data[:4096]
    return WAYBILL_NS.encode() in head and b"Waybill" in head


def _q(local: str, ns: str = DM_NS) -> str:
    return f"{{{ns}}}{local}"


def _text(elem, *path: str) -> str | None:
    for step in path:
        if elem is None:
            return None
        elem = elem.find(step if step.startswith("{") else _q(step))
    return elem.text.strip() if elem is not None and elem.text else None


def read_xfwb(data: bytes, source_file: str = "", operation: str = "") -> BillingBatch:
    problems: list[Finding] = []
    empty = (RECORDS_SCHEMA.empty_table(), CHARGES_SCHEMA.empty_table())
    header = FileHeader(family="billing", record_id="XFWB", operation=operation)
    parser = etree.XMLParser(load_dtd=False, dtd_validation=False, resolve_entities=False,
                             no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.parse(io.BytesIO(data), parser).getroot()
    except etree.XMLSyntaxError as exc:
        problems.append(Finding(X_NOT_WELL_FORMED, message=f"not well-formed XML: {exc.msg}",
                                line=exc.lineno))
        return BillingBatch(header, *empty, {}, problems, source_file, 0, format="xfwb")
    refused = refuse_doctype(root) if root is not None else Finding(
        X_NOT_WELL_FORMED, message="no XML document found", line=1)
    if refused is not None:
        return BillingBatch(header, *empty, {}, [refused], source_file, 0, format="xfwb")
    try:
        records, charges = _convert(root, source_file, header)
    except (ValueError, KeyError, AttributeError, ArithmeticError) as exc:
        # what a hostile or broken e-AWB can do to the mapping: a missing element
        # (AttributeError), an unreadable or out-of-range number (ValueError, ArithmeticError)
        problems.append(Finding(X_VALUE, message=f"XFWB not convertible: {exc}"[:200],
                                line=root.sourceline))
        records, charges = empty
    return BillingBatch(header, records, charges, {"total_count": records.num_rows},
                        problems, source_file, data.count(b"\n") + 1,
                        {"AWB": records.num_rows}, format="xfwb")


def _convert(root, source_file: str, header: FileHeader) -> tuple[pa.Table, pa.Table]:
    bh = root.find(_q("BusinessHeaderDocument", WAYBILL_NS))
    mc = root.find(_q("MasterConsignment", WAYBILL_NS))
    number = _text(bh, "ID") or ""
    prefix, _, serial = number.partition("-")
    header.airline_prefix = prefix
    header.source_line = root.sourceline
    line = mc.sourceline
    r = {name: None for name in RECORDS_SCHEMA.names}
    r.update({c: 0 for c in AMOUNT_COLUMNS})
    r.update(source_file=source_file, source_line=line, record_type="AWB",
             airline_prefix=prefix, awb_serial=serial, awb_use_indicator="R")
    executed = _text(bh, "SignatoryCarrierAuthentication", "ActualDateTime")
    if executed:
        r["execution_date"] = dt.date.fromisoformat(executed[:10])
    r["origin"] = _text(mc, "OriginLocation", "ID")
    r["destination"] = _text(mc, "FinalDestinationLocation", "ID")
    ff = mc.find(_q("FreightForwarderParty"))
    if ff is not None:
        r["agent_code"] = (_text(ff, "CargoAgentID") or "") + (
            _text(ff, "SpecifiedCargoAgentLocation", "ID") or "")
    weight = mc.find(_q("IncludedTareGrossWeightMeasure"))
    if weight is not None and weight.text:
        r["weight_tenths"] = _bounded(Decimal(weight.text.strip()).scaleb(1), 10 ** 7)
        r["weight_unit"] = {"KGM": "K", "LBR": "L"}.get(weight.get("unitCode"))
    currency = _text(mc, "ApplicableOriginCurrencyExchange", "SourceCurrencyCode")
    for total in mc.iter(_q("ApplicablePrepaidCollectMonetarySummation")):
        side = "pp" if (_text(total, "PrepaidIndicator") or "").lower() == "true" else "cc"
        for child in total:
            comp = SUMMATION.get(etree.QName(child).localname)
            if comp and child.text:
                currency = child.get("currencyID") or currency
                r[f"{comp}_{side}"] = _bounded(to_minor(child.text.strip(), currency))
    r["currency"] = currency
    r["weight_pc"] = "P" if r["weight_cc"] == 0 else "C"
    charges = []
    for i, ch in enumerate(mc.findall(_q("ApplicableLogisticsAllowanceCharge"))):
        amount = ch.find(_q("ActualAmount"))
        cur = amount.get("currencyID") or currency
        charges.append({
            "source_file": source_file, "source_line": ch.sourceline, "slot": i % 10 + 1,
            "parent_type": "AWB", "airline_prefix": prefix, "awb_serial": serial,
            "correction_number": None, "currency": cur, "charge_code": _text(ch, "ID"),
            "entitlement": _text(ch, "PartyTypeCode"),
            "pc": "P" if (_text(ch, "PrepaidIndicator") or "").lower() == "true" else "C",
            "amount": _bounded(to_minor(amount.text.strip(), cur))})
    return (pa.Table.from_pylist([r], schema=RECORDS_SCHEMA),
            pa.Table.from_pylist(charges, schema=CHARGES_SCHEMA))


def _bounded(value, limit: int = MAX_AMOUNT) -> int:
    """A whole number below ``limit`` in magnitude (what the HOT field holds), else ValueError."""
    if not Decimal(value).is_finite() or abs(value) >= limit or value != int(value):
        raise ValueError(f"{value} is out of range")
    return int(value)
