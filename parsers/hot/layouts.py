"""The HOT record layouts, as data.

Every consumer (reader, writer, generated docs/formats/hot.md, validators) is driven by these
tables: replacing a layout with the licensed handbook's means editing the tables below, nothing
else. Positions are 1-based and inclusive, as in the handbook. Source tags follow
shared/spec/cass-file-formats.md: C2 two sources agree, C1 one implementation + samples, S one
source, I inference, and ``casslink`` for what this project defines where no source exists.

Field kinds
-----------
``id``      record identifier (constant)
``A``/``AN`` text, right-padded with blanks; blank reads as null
``N``       digits kept as text (identifiers: prefix, serial, agent code); checked by validators
``int``     unsigned integer (counts, file number); blank reads as null
``amount``  unsigned integer amount in minor units of the record's currency; blank reads as 0
``amount?`` like ``amount`` but blank reads as null (optional amounts)
``weight``  unsigned, one implied decimal: stored as tenths
``pct``     commission percentage, two implied decimals: stored as hundredths
``date``    YYMMDD (00-69 -> 20xx, 70-99 -> 19xx); blank reads as null
``rate``    ``nnnnn.nnnnn`` with an explicit point: stored x 100000
``sign``    ``-`` makes the named amount column negative; blank = positive
``filler``  blanks (reserved)

``split`` on an amount names the P/C indicator column that decides whether the value lands in
``<name>_pp`` (indicator P) or ``<name>_cc`` (indicator C) - the correction-record form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INDICATORS = {
    "pc": "PC",
    "vat": "YN",
    "weight_unit": "KL",
    "discount_sign": "-",
    "awb_use": "RSV",
    "entitlement": "AC",
    "side": "OR",
}


@dataclass(frozen=True)
class Field:
    name: str
    start: int
    length: int
    kind: str
    note: str = ""
    source: str = ""
    split: str = ""  # P/C indicator column deciding _pp/_cc (correction records)
    values: str = ""  # allowed indicator values (blank allowed unless noted)

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    @property
    def slice(self) -> slice:
        return slice(self.start - 1, self.end)


@dataclass(frozen=True)
class Group:
    """A repeating group: ``count`` slots of ``fields`` (positions relative to the slot)."""

    start: int
    count: int
    fields: tuple[Field, ...]

    @property
    def slot_width(self) -> int:
        return max(f.end for f in self.fields)


@dataclass(frozen=True)
class RecordLayout:
    record_id: str
    role: str  # header | trailer | record | charges
    width: int
    fields: tuple[Field, ...]
    canonical: str = ""  # canonical record type for role "record"
    title: str = ""
    group: Group | None = None
    parents: dict[str, str] = field(default_factory=dict)  # charges: side -> parent type


def F(name, start, length, kind, note="", source="", split="", values=""):
    return Field(name, start, length, kind, note, source, split, values)


# --- records shared by the billing and hand-off families ----------------------------------------

def _correction(record_id: str, canonical: str, title: str) -> RecordLayout:
    return RecordLayout(record_id, "record", 250, (
        F("record_id", 1, 3, "id", source="C2"),
        F("branch_indicator", 4, 1, "AN", "SK writes A in hand-off files", "S"),
        F("vat_indicator", 5, 1, "A", values="YN", source="C2"),
        F("airline_prefix", 6, 3, "N", source="C2"),
        F("awb_serial", 9, 8, "N", "with mod-7 check digit", "C2"),
        F("", 17, 2, "filler", "AWB mod check (SK, always blank) + filler", "S"),
        F("origin", 19, 3, "A", source="C2"),
        F("agent_code", 22, 11, "N", source="C2"),
        F("correction_number", 33, 6, "AN", "CCA or DCM number", "C2"),
        F("currency", 39, 3, "A", source="C2"),
        F("exchange_rate_e5", 42, 11, "rate", source="C2"),
        F("execution_date", 53, 6, "date", source="C2"),
        F("weight_pc", 59, 1, "A", values="PC", source="C2"),
        F("weight", 60, 12, "amount", "weight charge", "C2", split="weight_pc"),
        F("valuation_pc", 72, 1, "A", values="PC", source="C2"),
        F("valuation", 73, 12, "amount", "valuation charge", "C2", split="valuation_pc"),
        F("taxes_pc", 85, 1, "A", values="PC", source="C1"),
        F("taxes", 86, 12, "amount", "taxes", "C1", split="taxes_pc"),
        F("oc_agent_pc", 98, 1, "A", values="PC", source="C2"),
        F("oc_agent", 99, 12, "amount", "other charges due agent", "C2", split="oc_agent_pc"),
        F("oc_carrier_pc", 111, 1, "A", values="PC", source="C2"),
        F("oc_carrier", 112, 12, "amount", "other charges due carrier", "C2",
          split="oc_carrier_pc"),
        F("tax_airline", 124, 12, "amount", "VAT on AWB charges (VAT due airline)", "C2"),
        F("commission", 136, 12, "amount", source="C2"),
        F("tax_agent", 148, 12, "amount", "VAT on commission (VAT due agent)", "C2"),
        F("discount", 160, 12, "amount", "discount / incentive", "C2"),
        F("discount", 172, 1, "sign", "discount indicator: - negative, blank positive", "C2",
          values="-"),
        F("weight_unit", 173, 1, "A", values="KL", source="C2"),
        F("weight_tenths", 174, 7, "weight", source="C2"),
        F("destination", 181, 3, "A", "may differ between O and R", "C2"),
        F("", 184, 17, "filler", source="S"),
        F("reason", 201, 50, "AN", "reason for adjustment, free text", "S"),
    ), canonical=canonical, title=title)


def _charges(record_id: str, parents: dict[str, str], title: str) -> RecordLayout:
    return RecordLayout(record_id, "charges", 250, (
        F("record_id", 1, 3, "id", source="casslink"),
        F("airline_prefix", 4, 3, "N", source="casslink"),
        F("awb_serial", 7, 8, "N", source="casslink"),
        F("correction_number", 15, 6, "AN", "blank in AW1", "casslink"),
        F("side", 21, 1, "A", "O original / R revised (CC3, DC3); blank in AW1", "casslink",
          values="OR"),
        F("currency", 22, 3, "A", source="casslink"),
        F("", 185, 66, "filler", source="casslink"),
    ), title=title, parents=parents, group=Group(25, 10, (
        F("charge_code", 1, 2, "A", "other-charge code (code list 1.2)", "casslink"),
        F("entitlement", 3, 1, "A", "A due agent, C due carrier", "casslink", values="AC"),
        F("pc", 4, 1, "A", "P prepaid, C collect", "casslink", values="PC"),
        F("amount", 5, 12, "amount", source="casslink"),
    )))


CCO = _correction("CCO", "CCO", "CCA, original values")
CCR = _correction("CCR", "CCR", "CCA, revised values")
DCO = _correction("DCO", "DCO", "DCM, original values")
DCR = _correction("DCR", "DCR", "DCM, revised values")
AW1 = _charges("AW1", {"": "AWB"}, "Other charges of an AWB (up to 10 per record)")
CC3 = _charges("CC3", {"O": "CCO", "R": "CCR"}, "Other charges of a CCA side")
DC3 = _charges("DC3", {"O": "DCO", "R": "DCR"}, "Other charges of a DCM side")

# --- billing participant file (airline -> CASS) ---------------------------------------------------

BILLING_HEADER = RecordLayout("ALS", "header", 250, (
    F("record_id", 1, 3, "id", "ALS; AAA accepted on input", "S"),
    F("operation", 4, 2, "A", "CASS area code (ISO 3166 alpha-2)", "S"),
    F("branch_indicator", 6, 1, "AN", source="S"),
    F("", 7, 10, "filler", source="S"),
    F("airline_prefix", 17, 3, "N", "billing participant's prefix", "S"),
    F("period_start", 20, 6, "date", source="S"),
    F("period_end", 26, 6, "date", source="S"),
    F("billing_date", 32, 6, "date", source="S"),
    F("file_number", 38, 2, "int", source="S"),
    F("", 40, 211, "filler", source="S"),
), title="Header")

BILLING_AWB = RecordLayout("AWB", "record", 250, (
    F("record_id", 1, 3, "id", source="S"),
    F("invoice_indicator", 4, 1, "AN", "AWB/invoice indicator", "S"),
    F("vat_indicator", 5, 1, "A", values="YN", source="S"),
    F("agent_code", 6, 11, "N", source="S"),
    F("airline_prefix", 17, 3, "N", source="S"),
    F("awb_serial", 20, 8, "N", "with mod-7 check digit", "S"),
    F("", 28, 2, "filler", "AWB mod check (SK, blank) + filler", "S"),
    F("origin", 30, 3, "A", source="S"),
    F("awb_use_indicator", 33, 1, "A", values="RSV", source="S"),
    F("branch_indicator", 34, 1, "AN", source="S"),
    F("", 35, 1, "filler", source="S"),
    F("destination", 36, 3, "A", source="S"),
    F("execution_date", 39, 6, "date", source="S"),
    F("weight_tenths", 45, 7, "weight", source="S"),
    F("weight_unit", 52, 1, "A", values="KL", source="S"),
    F("currency", 53, 3, "A", source="S"),
    F("weight_pp", 56, 12, "amount", source="S"),
    F("valuation_pp", 68, 12, "amount", source="S"),
    F("oc_carrier_pp", 80, 12, "amount", source="S"),
    F("oc_agent_pp", 92, 12, "amount", source="S"),
    F("weight_cc", 104, 12, "amount", source="S"),
    F("valuation_cc", 116, 12, "amount", source="S"),
    F("oc_carrier_cc", 128, 12, "amount", source="S"),
    F("oc_agent_cc", 140, 12, "amount", source="S"),
    F("commission_pct_e2", 152, 4, "pct", "two implied decimals (I)", "S"),
    F("commission", 156, 12, "amount", source="S"),
    F("commission_indicator", 168, 1, "AN", source="S"),
    F("discount", 169, 12, "amount", source="S"),
    F("acceptance_date", 181, 6, "date", source="S"),
    F("agent_reference", 187, 14, "AN", source="S"),
    F("exchange_rate_e5", 201, 11, "rate", source="S"),
    F("tax_airline", 212, 12, "amount", source="S"),
    F("tax_agent", 224, 12, "amount", source="S"),
    F("", 236, 14, "filler", source="S"),
    F("discount", 250, 1, "sign", "discount indicator", "S", values="-"),
), canonical="AWB", title="AWB record")

BILLING_TRAILER = RecordLayout("TTT", "trailer", 250, (
    F("record_id", 1, 3, "id", source="S"),
    F("operation", 4, 2, "A", source="S"),
    F("airline_prefix", 6, 3, "N", source="S"),
    F("branch_indicator", 9, 1, "AN", source="S"),
    F("", 10, 7, "filler", source="S"),
    F("awb_count", 17, 7, "int", source="S"),
    F("cca_count", 24, 7, "int", "CCO + CCR records", "S"),
    F("dcm_count", 31, 7, "int", "DCO + DCR records", "S"),
    F("total_count", 38, 7, "int", "AWB + CCA + DCM records", "S"),
    F("hash_total", 45, 12, "AN", "casslink: sum of the 8-digit serials of every AWB, CCO, CCR, "
      "DCO and DCR record mod 10^12, zero-filled; blank = not supplied", "casslink"),
    F("aw1_count", 57, 7, "int", source="S"),
    F("cc3_count", 64, 7, "int", source="S"),
    F("dc3_count", 71, 7, "int", source="S"),
    F("", 78, 173, "filler", source="S"),
), title="Trailer")

# --- hand-off file (CASS -> airline) and agent HOT file (CASS -> agent) ---------------------------

HANDOFF_HEADER = RecordLayout("AAA", "header", 250, (
    F("record_id", 1, 3, "id", source="C2"),
    F("operation", 4, 2, "A", "CASS area code", "C2"),
    F("airline_prefix", 6, 3, "N", "airline hand-off; blank in agent files", "C1"),
    F("period_start", 9, 6, "date", source="C2"),
    F("period_end", 15, 6, "date", source="C2"),
    F("billing_date", 21, 6, "date", source="C2"),
    F("file_number", 27, 2, "int", source="C2"),
    F("currency", 29, 3, "A", "billing currency", "C2"),
    F("branch_indicator", 32, 1, "AN", source="S"),
    F("agent_code", 33, 11, "N", "agent files: DE puts the 7-digit agent numeric code at 33-39; "
      "casslink writes the full 11-digit code", "I"),
    F("", 44, 207, "filler", source="S"),
), title="Header")

HANDOFF_AWM = RecordLayout("AWM", "record", 250, (
    F("record_id", 1, 3, "id", source="C2"),
    F("branch_indicator", 4, 1, "AN", source="C1"),
    F("vat_indicator", 5, 1, "A", values="YN", source="C2"),
    F("airline_prefix", 6, 3, "N", source="C2"),
    F("awb_serial", 9, 8, "N", "with mod-7 check digit", "C2"),
    F("", 17, 2, "filler", "AWB mod check (blank) + filler", "S"),
    F("origin", 19, 3, "A", source="C2"),
    F("agent_code", 22, 11, "N", source="C2"),
    F("awb_use_indicator", 33, 1, "A", values="RSV", source="C1"),
    F("late_indicator", 34, 1, "AN", source="S"),
    F("", 35, 2, "filler", source="S"),
    F("destination", 37, 3, "A", source="C2"),
    F("execution_date", 40, 6, "date", source="C2"),
    F("weight_tenths", 46, 7, "weight", source="C2"),
    F("weight_unit", 53, 1, "A", values="KL", source="C2"),
    F("currency", 54, 3, "A", source="C2"),
    F("weight_pp", 57, 12, "amount", source="C2"),
    F("valuation_pp", 69, 12, "amount", source="C2"),
    F("oc_carrier_pp", 81, 12, "amount", source="C2"),
    F("oc_agent_pp", 93, 12, "amount", source="C1"),
    F("weight_cc", 105, 12, "amount", source="C1"),
    F("valuation_cc", 117, 12, "amount", source="C1"),
    F("oc_carrier_cc", 129, 12, "amount", source="C1"),
    F("oc_agent_cc", 141, 12, "amount", source="C2"),
    F("commission_pct_e2", 153, 4, "pct", "two implied decimals (I)", "C1"),
    F("commission", 157, 12, "amount", source="C2"),
    F("", 169, 1, "filler", source="S"),
    F("net_amount", 170, 12, "amount?", "net AWB amount (DE convention); blank in CNS", "I"),
    F("net_amount", 182, 1, "sign", "casslink: - when the net is a credit", "casslink",
      values="-"),
    F("", 183, 11, "filler", source="S"),
    F("acceptance_date", 194, 6, "date", source="C1"),
    F("exchange_rate_e5", 200, 11, "rate", source="C2"),
    F("discount", 211, 12, "amount", source="C2"),
    F("tax_airline", 223, 8, "amount", source="C2"),
    F("tax_agent", 231, 8, "amount", source="C2"),
    F("", 239, 11, "filler", "optional data capture (U)", "U"),
    F("discount", 250, 1, "sign", "discount indicator", "C2", values="-"),
), canonical="AWB", title="AWB record (AWM)")

HANDOFF_TRAILER = RecordLayout("TTT", "trailer", 250, (
    F("record_id", 1, 3, "id", source="C2"),
    F("", 4, 1, "filler", source="C2"),
    F("operation", 5, 2, "A", source="C2"),
    F("office_code", 7, 3, "AN", "CASS office code", "C2"),
    F("airline_prefix", 10, 3, "N", "blank in agent files", "C1"),
    F("branch_indicator", 13, 1, "AN", source="C1"),
    F("awb_count", 14, 7, "int", source="C2"),
    F("cca_count", 21, 7, "int", "CCO + CCR records", "C2"),
    F("dcm_count", 28, 7, "int", "DCO + DCR records", "C2"),
    F("total_count", 35, 7, "int", "AWB + CCA + DCM; header and trailer excluded", "C2"),
    F("awm_count", 42, 7, "int", source="S"),
    F("aw1_count", 49, 7, "int", source="S"),
    F("cc3_count", 56, 7, "int", "SK's AW2 counter; casslink counts CC3 here", "casslink"),
    F("dc3_count", 63, 7, "int", "SK's AW3 counter; casslink counts DC3 here", "casslink"),
    F("aw4_count", 70, 7, "int", "always zero in casslink", "S"),
    F("aw5_count", 77, 7, "int", "always zero in casslink", "S"),
    F("ccr_count", 84, 7, "int", source="S"),
    F("cco_count", 91, 7, "int", source="S"),
    F("dcr_count", 98, 7, "int", source="S"),
    F("dco_count", 105, 7, "int", source="S"),
    F("", 112, 139, "filler", source="S"),
), title="Trailer")

# --- agent adjustment / dispute upload (agent -> CASSLink) ---------------------------------------

ADJ_HEADER = RecordLayout("AA", "header", 250, (
    F("record_id", 1, 2, "id", source="S"),
    F("agent_code", 3, 11, "N", source="S"),
    F("period_end", 14, 6, "date", "invoice period (its end date)", "S"),
    F("", 20, 231, "filler", source="S"),
), title="Header")


def _adjustment(record_id: str, canonical: str) -> RecordLayout:
    return RecordLayout(record_id, "record", 401, (
        F("record_id", 1, 2, "id", source="S"),
        F("airline_prefix", 3, 3, "N", source="S"),
        F("agent_code", 6, 11, "N", "zero-left-padded", "S"),
        F("awb_serial", 17, 8, "N", source="S"),
        F("correction_number", 25, 6, "AN", "CCA/DCM number", "S"),
        F("weight_pp", 31, 12, "amount", source="S"),
        F("valuation_pp", 43, 12, "amount", source="S"),
        F("oc_carrier_pp", 55, 12, "amount", source="S"),
        F("oc_agent_pp", 67, 12, "amount", source="S"),
        F("weight_cc", 79, 12, "amount", source="S"),
        F("valuation_cc", 91, 12, "amount", source="S"),
        F("oc_carrier_cc", 103, 12, "amount", source="S"),
        F("oc_agent_cc", 115, 12, "amount", source="S"),
        F("commission", 127, 12, "amount", source="S"),
        F("discount", 139, 12, "amount", "incentive (= discount)", "S"),
        F("discount", 151, 1, "sign", "incentive sign", "S", values="-"),
        F("weight_tenths", 152, 7, "weight", source="S"),
        F("weight_unit", 159, 1, "A", values="KL", source="S"),
        F("reason_code", 160, 2, "N", source="S"),
        F("contract", 162, 20, "AN", source="S"),
        F("adjustment_rate", 182, 4, "AN", source="S"),
        F("branch_indicator", 186, 1, "AN", "airline branch", "S"),
        F("reason", 187, 215, "AN", "comment; mandatory when amounts change", "S"),
    ), canonical=canonical, title=f"Adjustment line ({canonical})")


ADJ_TRAILER = RecordLayout("TT", "trailer", 250, (
    F("record_id", 1, 2, "id", source="S"),
    F("record_count", 3, 7, "int", "number of line records", "S"),
    F("", 10, 241, "filler", source="S"),
), title="Trailer")


@dataclass(frozen=True)
class Family:
    """A file family: which records it may contain and how wide they are."""

    name: str
    title: str
    id_width: int
    header: RecordLayout
    trailer: RecordLayout
    records: tuple[RecordLayout, ...]
    header_aliases: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return max(r.width for r in (self.header, self.trailer, *self.records))

    @property
    def layouts(self) -> dict[str, RecordLayout]:
        out = {self.header.record_id: self.header, self.trailer.record_id: self.trailer}
        out.update({alias: self.header for alias in self.header_aliases})
        out.update({r.record_id: r for r in self.records})
        return out

    def layout_for(self, canonical: str) -> RecordLayout:
        """The body layout that writes canonical record type ``canonical`` (AWB, CCO, ...)."""
        return next(r for r in self.records if r.canonical == canonical)

    def charges_layout(self, parent_type: str) -> RecordLayout | None:
        return next((r for r in self.records if r.role == "charges"
                     and parent_type in r.parents.values()), None)


BILLING = Family("billing", "Billing participant file (airline -> CASS)", 3, BILLING_HEADER,
                 BILLING_TRAILER, (BILLING_AWB, CCO, CCR, DCO, DCR, AW1, CC3, DC3),
                 header_aliases=("AAA",))
HANDOFF = Family("handoff", "Hand-off file (CASS -> airline) and agent HOT file (CASS -> agent)",
                 3, HANDOFF_HEADER, HANDOFF_TRAILER,
                 (HANDOFF_AWM, CCO, CCR, DCO, DCR, AW1, CC3, DC3))
ADJUSTMENT = Family("adjustment", "Agent adjustment / dispute upload (agent -> CASSLink)", 2,
                    ADJ_HEADER, ADJ_TRAILER,
                    tuple(_adjustment(i, c) for i, c in (("AW", "AWB"), ("CO", "CCO"),
                                                         ("CR", "CCR"), ("DO", "DCO"),
                                                         ("DR", "DCR"))))

FAMILIES: dict[str, Family] = {f.name: f for f in (BILLING, HANDOFF, ADJUSTMENT)}
