"""The canonical billing-record model: two Arrow tables plus a file header, shared by every
parser (HOT, XML, XFWB) and every writer.

``records`` — one row per billing record. An AWB billing is one row (``record_type`` ``AWB``);
a correction is a *pair* of rows, the original values (``CCO``/``DCO``) and the revised values
(``CCR``/``DCR``), linked by (airline_prefix, awb_serial, agent_code, correction_number).
The effect to bill of a pair is revised − original, per component.

``charges`` — itemised other charges (AW1/CC3/DC3): 2-letter code + entitlement (A due agent,
C due carrier) + P/C + amount, linked to their record by
(parent_type, airline_prefix, awb_serial, correction_number).

Money is int64 *minor units* of the row's ISO 4217 ``currency`` (EUR cents, JPY yen, BHD fils);
weights are int64 tenths of ``weight_unit`` (K kg, L lb); rates of exchange are int64 with five
implied decimals; commission percentage is int64 hundredths of a percent. Every row carries
``source_file`` and ``source_line`` (1-based) so every output line traces back to its input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields

import pyarrow as pa

RECORD_TYPES = ("AWB", "CCO", "CCR", "DCO", "DCR")
"""Canonical record types: AWB billing, CCA original/revised, DCM original/revised."""

CORRECTION_TYPES = ("CCO", "CCR", "DCO", "DCR")

AMOUNT_COLUMNS = (
    "weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_pp",
    "weight_cc", "valuation_cc", "oc_carrier_cc", "oc_agent_cc",
    "taxes_pp", "taxes_cc", "commission", "discount", "tax_airline", "tax_agent",
)
"""Money components, int64 minor units; ``discount`` is signed (negative = ``-`` indicator)."""

_S, _I64, _D = pa.string(), pa.int64(), pa.date32()

RECORD_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("source_file", _S, "Input file id (sha256 or name) the row came from"),
    ("source_line", pa.int32(), "1-based line (HOT) or line of the element (XML) in that file"),
    ("record_type", _S, "AWB | CCO | CCR | DCO | DCR"),
    ("airline_prefix", _S, "3-digit airline prefix"),
    ("awb_serial", _S, "8-digit AWB serial including the mod-7 check digit"),
    ("agent_code", _S, "11-digit CASS agent code"),
    ("correction_number", _S, "CCA/DCM number (6 alphanumerics); null for AWB rows"),
    ("origin", _S, "IATA 3-letter origin"),
    ("destination", _S, "IATA 3-letter destination"),
    ("execution_date", _D, "Date of AWB execution (issue)"),
    ("acceptance_date", _D, "AWB acceptance date (AWB rows)"),
    ("currency", _S, "ISO 4217 code of every amount of the row"),
    ("exchange_rate_e5", _I64, "Rate of exchange x 100000 (nnnnn.nnnnn); 0 = not used"),
    ("weight_tenths", _I64, "Weight in tenths of weight_unit"),
    ("weight_unit", _S, "K (kg) or L (lb)"),
    ("vat_indicator", _S, "Y, N or null"),
    ("awb_use_indicator", _S, "R revenue, S service, V void (ONE Record AWBUseIndicator)"),
    ("branch_indicator", _S, "Branch office indicator"),
    ("late_indicator", _S, "Late indicator (hand-off AWM)"),
    ("invoice_indicator", _S, "AWB/invoice indicator (billing AWB)"),
    ("commission_indicator", _S, "Commission indicator (billing AWB)"),
    ("weight_pc", _S, "P/C of the weight charge (correction rows)"),
    ("valuation_pc", _S, "P/C of the valuation charge (correction rows)"),
    ("taxes_pc", _S, "P/C of taxes (correction rows)"),
    ("oc_agent_pc", _S, "P/C of other charges due agent (correction rows)"),
    ("oc_carrier_pc", _S, "P/C of other charges due carrier (correction rows)"),
    ("weight_pp", _I64, "Weight charge, prepaid"),
    ("valuation_pp", _I64, "Valuation charge, prepaid"),
    ("oc_carrier_pp", _I64, "Other charges due carrier, prepaid"),
    ("oc_agent_pp", _I64, "Other charges due agent, prepaid"),
    ("weight_cc", _I64, "Weight charge, collect"),
    ("valuation_cc", _I64, "Valuation charge, collect"),
    ("oc_carrier_cc", _I64, "Other charges due carrier, collect"),
    ("oc_agent_cc", _I64, "Other charges due agent, collect"),
    ("taxes_pp", _I64, "Taxes, prepaid (correction rows' Taxes field)"),
    ("taxes_cc", _I64, "Taxes, collect (correction rows' Taxes field)"),
    ("commission_pct_e2", _I64, "Commission percentage in hundredths (AWB rows)"),
    ("commission", _I64, "Commission amount"),
    ("discount", _I64, "Discount/incentive, signed (negative when the indicator is '-')"),
    ("tax_airline", _I64, "Tax (VAT) due airline (VAT on AWB charges)"),
    ("tax_agent", _I64, "Tax (VAT) due agent (VAT on commission)"),
    ("net_amount", _I64, "Net AWB amount as stated by the file (DE hand-off cols 170-181)"),
    ("agent_reference", _S, "Agent reference data"),
    ("reason", _S, "Reason for adjustment / comment (free text)"),
    ("reason_code", _S, "Reason code (agent adjustment file)"),
    ("contract", _S, "Contract (agent adjustment file)"),
    ("adjustment_rate", _S, "Rate (agent adjustment file, 4 characters)"),
]

CHARGE_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("source_file", _S, "Input file id"),
    ("source_line", pa.int32(), "1-based line of the AW1/CC3/DC3 record (or XML element)"),
    ("slot", pa.int8(), "Position of the charge inside its record (1-based)"),
    ("parent_type", _S, "Record type the charge itemises: AWB | CCO | CCR | DCO | DCR"),
    ("airline_prefix", _S, "3-digit airline prefix"),
    ("awb_serial", _S, "8-digit AWB serial with check digit"),
    ("correction_number", _S, "CCA/DCM number of the parent; null for AWB"),
    ("currency", _S, "ISO 4217 code of the amount"),
    ("charge_code", _S, "2-letter other-charge code (Cargo-IMP code list 1.2)"),
    ("entitlement", _S, "A (due agent) or C (due carrier)"),
    ("pc", _S, "P (prepaid) or C (collect)"),
    ("amount", _I64, "Amount in minor units"),
]

RECORDS_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in RECORD_FIELDS])
CHARGES_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in CHARGE_FIELDS])


@dataclass
class FileHeader:
    """File-level data of a billing batch (HOT header/trailer or the XML batch header)."""

    family: str = "billing"  # billing | handoff | adjustment
    record_id: str = ""  # as found: ALS, AAA, AA
    operation: str = ""  # CASS area / country code
    airline_prefix: str = ""
    agent_code: str = ""  # agent files (hand-off AAA 33-43, adjustment AA)
    branch_indicator: str = ""
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    billing_date: dt.date | None = None
    file_number: int | None = None
    currency: str = ""
    office_code: str = ""
    source_line: int | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: asdict is slow
        out["extra"] = dict(self.extra)
        for k, v in out.items():
            if isinstance(v, dt.date):
                out[k] = v.isoformat()
        return out


@dataclass(slots=True)
class Finding:
    """A problem found in an input: a stable code, where, and what. Parsers leave ``severity``
    blank; the rule engine sets it from the catalogue (``validators/catalogue.py``)."""

    code: str
    severity: str = ""
    message: str = ""
    line: int | None = None
    record_type: str = ""
    field: str = ""
    raw: str = ""
    expected: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BillingBatch:
    """What every reader returns: header, trailer values as read, the two tables, and problems."""

    header: FileHeader
    records: pa.Table
    charges: pa.Table
    trailer: dict = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    source_file: str = ""
    line_count: int = 0
    record_counts: dict[str, int] = field(default_factory=dict)  # raw record ids as found
    format: str = "hot"  # hot | xml | xfwb


def empty_records() -> pa.Table:
    return RECORDS_SCHEMA.empty_table()


def empty_charges() -> pa.Table:
    return CHARGES_SCHEMA.empty_table()


NET_TERMS = {"weight_pp": 1, "valuation_pp": 1, "oc_carrier_pp": 1, "oc_agent_cc": -1,
             "commission": -1, "discount": -1, "tax_airline": 1, "tax_agent": -1}
"""The agent-net formula (spec §4.5) as data: component -> sign. The other money components
(collect weight/valuation, prepaid other charges due agent, taxes) are not billed to the agent."""


def agent_net(row: dict) -> int:
    """Agent's net payable of one row (minor units), spec §4.5:
    PP weight + PP valuation + PP other charges due carrier − CC other charges due agent
    − commission − discount (signed) + VAT due airline − VAT due agent.
    Collect weight/valuation and prepaid other charges due agent are not billed to the agent.
    """
    return sum(sign * int(row.get(c) or 0) for c, sign in NET_TERMS.items())
