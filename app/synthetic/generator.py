"""Generate realistic airline billing batches (canonical tables) for an operation and period.

Volumes are skewed (Zipf-like) over airlines and agents; ~80 % prepaid; 0-3 itemised other
charges per AWB whose sums make the AWB's other-charge totals; commission on the weight charge;
incentives; VAT where the operation has a rate; a share of AWBs in USD with a rate of exchange;
~5 % CCA/DCM pairs (original = the AWB as billed, revised = changed values). Table-level faults
are injected here; byte-level faults (truncated lines, bad trailer) by :func:`corrupt_bytes`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink import tax_rules
from casslink.canonical import AMOUNT_COLUMNS, CHARGES_SCHEMA, RECORDS_SCHEMA, FileHeader
from casslink.reference import PeriodInfo, ReferenceData

ORIGINS = {"DE": ["FRA", "MUC", "DUS", "HAM", "STR", "CGN", "LEJ"],
           "IN": ["BOM", "DEL", "MAA", "BLR", "HYD", "CCU", "AMD"],
           "US": ["JFK", "ORD", "LAX", "ATL", "MIA", "DFW", "CLT"],
           "PK": ["KHI", "LHE", "ISB"], "CN": ["PVG", "PEK", "CAN", "SZX"],
           "JP": ["NRT", "HND", "KIX"], "KR": ["ICN", "GMP", "PUS"],
           "FR": ["CDG", "ORY", "LYS", "MRS", "TLS"]}
DESTINATIONS = ["HKG", "SIN", "NRT", "DXB", "GRU", "JNB", "SYD", "PVG", "ICN", "LHR", "CDG",
                "BKK", "MEX", "YYZ", "NBO", "DOH", "AMS", "MAD", "IST", "KUL"]
# (code, entitlement, share of AWBs, mean amount in major units)
OTHER_CHARGES = [("MY", "C", 0.70, 60.0), ("SC", "C", 0.50, 15.0), ("AW", "C", 0.30, 25.0),
                 ("RA", "C", 0.03, 90.0), ("CH", "A", 0.15, 35.0), ("PU", "A", 0.10, 40.0)]
USD_RATES_E5 = {"EUR": 92345, "INR": 8331250, "USD": 100000, "PKR": 27850000,
                "CNY": 712000, "JPY": 15000000, "KRW": 138000000}
DCM_REASONS = ["RATE AUDIT", "WEIGHT CORRECTION", "MISSED SECURITY CHARGE", "INCENTIVE ADJUSTMENT"]

FAULT_KINDS = {
    "bad_awb_check_digit": "an AWB serial whose mod-7 check digit is wrong",
    "bad_agent_check_digit": "an agent code whose check digit is wrong",
    "unknown_agent": "a well-formed agent code not registered in the operation",
    "duplicate_awb": "the same AWB billed twice in the file",
    "orphan_correction": "a CCO without its CCR",
    "wrong_trailer_count": "the trailer's AWB count off by one",
    "bad_hash_total": "a wrong hash total in the trailer",
    "truncated_line": "the last body line cut to 40 characters",
    "bad_date": "an execution date that is not a date (991399)",
    "non_numeric_amount": "letters in a weight-charge amount",
}


@dataclass
class GeneratedFile:
    """One airline's billing batch plus what was injected into it."""

    airline_prefix: str
    header: FileHeader
    records: pa.Table
    charges: pa.Table
    faults: list[dict] = field(default_factory=list)


def _zipf_weights(n: int, s: float, rng: np.random.Generator) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    rng.shuffle(w)
    return w / w.sum()


def generate_billing(ref: ReferenceData, operation: str, period: PeriodInfo, n_awbs: int,
                     seed: int = 1, faults: list[str] | tuple = (), file_number: int = 1,
                     correction_share: float = 0.05) -> list[GeneratedFile]:
    """One billing batch per participating airline with at least one AWB."""
    rng = np.random.default_rng(seed)
    op = ref.operations[operation]
    airlines = sorted(a.prefix for a in ref.airlines.values() if operation in a.operations)
    agents = sorted(g.code for g in ref.agents.values() if g.operation == operation)
    if not airlines or not agents:
        raise ValueError(f"operation {operation} has no airlines or agents")
    n = int(n_awbs)
    air_idx = rng.choice(len(airlines), n, p=_zipf_weights(len(airlines), 1.1, rng))
    agent_idx = rng.choice(len(agents), n, p=_zipf_weights(len(agents), 1.0, rng))
    prefix = np.array(airlines)[air_idx]
    agent = np.array(agents)[agent_idx]
    bodies = rng.choice(9_000_000, n, replace=False) + 1_000_000
    serial = np.char.add(bodies.astype(str), (bodies % 7).astype(str))
    currency_local = op.settlement_currency
    foreign = (rng.random(n) < 0.03) & (currency_local != "USD")
    currency = np.where(foreign, "USD", currency_local)
    rate_e5 = np.where(foreign, USD_RATES_E5.get(currency_local, 100000), 0)
    span = (period.end_date - period.start_date).days + 1
    exec_off = rng.integers(0, span, n)
    exec_days = np.datetime64(period.start_date) + exec_off.astype("timedelta64[D]")
    acc_days = exec_days + rng.integers(0, 4, n).astype("timedelta64[D]")
    weight_t = np.maximum(5, np.round(rng.lognormal(5.5, 1.2, n) * 10)).astype(np.int64)
    rate_per_kg = rng.uniform(1.5, 4.5, n)
    minor = 100 if currency_local != "JPY" else 1
    weight_charge = np.round(weight_t / 10 * rate_per_kg * minor).astype(np.int64)
    weight_charge = np.maximum(weight_charge, 50 * minor)  # minimum charge
    valuation = np.where(rng.random(n) < 0.05, np.round(weight_charge * 0.0075), 0).astype(
        np.int64)
    prepaid = rng.random(n) < 0.8

    # itemised other charges
    ch_awb, ch_code, ch_ent, ch_amt = [], [], [], []
    for code, ent, share, mean in OTHER_CHARGES:
        has = np.flatnonzero(rng.random(n) < share)
        amt = np.maximum(1, np.round(rng.gamma(4, mean / 4, len(has)) * minor)).astype(np.int64)
        ch_awb.append(has)
        ch_code.append(np.full(len(has), code))
        ch_ent.append(np.full(len(has), ent))
        ch_amt.append(amt)
    ch_awb_a = np.concatenate(ch_awb)
    order = np.argsort(ch_awb_a, kind="stable")
    ch_awb_a = ch_awb_a[order]
    ch_code_a = np.concatenate(ch_code)[order]
    ch_ent_a = np.concatenate(ch_ent)[order]
    ch_amt_a = np.concatenate(ch_amt)[order]
    oc_carrier = np.bincount(ch_awb_a, weights=ch_amt_a * (ch_ent_a == "C"), minlength=n
                             ).astype(np.int64)
    oc_agent = np.bincount(ch_awb_a, weights=ch_amt_a * (ch_ent_a == "A"), minlength=n
                           ).astype(np.int64)

    pct = rng.choice([0, 0, 250, 500], n)
    commission = np.round(weight_charge * pct / 10000).astype(np.int64)
    discount = np.where(rng.random(n) < 0.10, np.round(weight_charge * rng.uniform(0.02, 0.2, n)),
                        0).astype(np.int64)
    discount = np.where(rng.random(n) < 0.01, -discount, discount)
    vat_bp = op.vat_rate_bp
    tax_airline = np.round(oc_carrier * vat_bp / 10000 * prepaid).astype(np.int64)
    tax_agent = np.round(commission * vat_bp / 10000).astype(np.int64)
    zero = np.zeros(n, np.int64)
    cols = {
        "record_type": np.full(n, "AWB"), "airline_prefix": prefix, "awb_serial": serial,
        "agent_code": agent, "origin": rng.choice(ORIGINS.get(operation, ["FRA"]), n),
        "destination": rng.choice(DESTINATIONS, n),
        "execution_date": exec_days, "acceptance_date": acc_days, "currency": currency,
        "exchange_rate_e5": rate_e5, "weight_tenths": weight_t, "weight_unit": np.full(n, "K"),
        "vat_indicator": np.full(n, "Y" if vat_bp > 0 else "N"),
        "awb_use_indicator": np.full(n, "R"),
        "weight_pp": np.where(prepaid, weight_charge, 0),
        "valuation_pp": np.where(prepaid, valuation, 0),
        "oc_carrier_pp": np.where(prepaid, oc_carrier, 0),
        "oc_agent_pp": np.where(prepaid, oc_agent, 0),
        "weight_cc": np.where(prepaid, 0, weight_charge),
        "valuation_cc": np.where(prepaid, 0, valuation),
        "oc_carrier_cc": np.where(prepaid, 0, oc_carrier),
        "oc_agent_cc": np.where(prepaid, 0, oc_agent),
        "taxes_pp": zero, "taxes_cc": zero, "commission_pct_e2": pct, "commission": commission,
        "discount": discount, "tax_airline": tax_airline, "tax_agent": tax_agent,
    }
    awbs = _with_vat(_table(cols, n), ref.tax_rules.get(operation, ()), operation)
    charges = _charges_table(awbs, ch_awb_a, ch_code_a, ch_ent_a, ch_amt_a,
                             np.where(prepaid, "P", "C"), "AWB", None)

    # corrections: pairs whose O is the AWB as billed and R a revision
    n_corr = round(n * correction_share)  # pairs: ~5 % of AWBs get a CCA or DCM
    corr_idx = np.sort(rng.choice(n, min(n, n_corr), replace=False)) if n_corr else \
        np.array([], np.int64)
    rec_tables, charge_tables = [awbs], [charges]
    if len(corr_idx):
        rec_tables_c, charge_tables_c = _corrections(rng, awbs, charges, corr_idx,
                                                     ref.tax_rules.get(operation, ()),
                                                     operation)
        rec_tables += rec_tables_c
        charge_tables += charge_tables_c
    records = pa.concat_tables(rec_tables)
    all_charges = pa.concat_tables(charge_tables)

    out = []
    prefixes = records.column("airline_prefix").to_numpy(zero_copy_only=False)
    cprefixes = all_charges.column("airline_prefix").to_numpy(zero_copy_only=False)
    for p in airlines:
        rsel = np.flatnonzero(prefixes == p)
        if not len(rsel):
            continue
        recs = records.take(pa.array(rsel))
        chs = all_charges.take(pa.array(np.flatnonzero(cprefixes == p)))
        recs, chs = _interleave(recs, chs)
        header = FileHeader(family="billing", record_id="ALS", operation=operation,
                            airline_prefix=p, period_start=period.start_date,
                            period_end=period.end_date, billing_date=period.billing_date,
                            file_number=file_number, currency=currency_local,
                            office_code=op.office_code)
        out.append(GeneratedFile(p, header, recs, chs))
    _inject_table_faults(out, list(faults), rng, ref, operation)
    return out


def _with_vat(t: pa.Table, rules, operation: str) -> pa.Table:
    """The VAT fields as the operation's tax rules state them (each record rounded half-up
    in its own currency; airline- and agent-side rules): what a correct file holds. An
    operation without rules keeps the flat-rate figures."""
    rules = [r for r in rules if r.side in tax_rules.FILE_FIELD]
    if not rules or not t.num_rows:
        return t
    days = np.asarray(t.column("execution_date").cast(pa.int32()).fill_null(0)).astype(
        "datetime64[D]")
    domestic, _ = tax_rules.domestic_mask(t.column("origin"), t.column("destination"),
                                          operation)
    comps = {c: np.asarray(t.column(c).fill_null(0), np.int64) for c in AMOUNT_COLUMNS}
    for side, name in tax_rules.FILE_FIELD.items():
        total = np.zeros(t.num_rows, np.int64)
        for r in (r for r in rules if r.side == side):
            mask = tax_rules.in_force(r, days) & tax_rules.applies(r, domestic)
            total += np.where(mask, tax_rules.half_up_div(
                tax_rules.base_of(r, comps) * r.rate_bp, 10000), 0)
        t = t.set_column(t.schema.get_field_index(name), name, pa.array(total, pa.int64()))
    return t


def _table(cols: dict, n: int) -> pa.Table:
    arrays = []
    for name, typ in zip(RECORDS_SCHEMA.names, RECORDS_SCHEMA.types, strict=True):
        if name in cols:
            v = cols[name]
            if typ == pa.date32():
                arrays.append(pa.array(np.asarray(v).astype("datetime64[D]"), pa.date32()))
            else:
                arrays.append(pa.array(v, typ))
        else:
            arrays.append(pa.nulls(n, typ))
    return pa.Table.from_arrays(arrays, schema=RECORDS_SCHEMA)


def _charges_table(parents: pa.Table, idx, code, ent, amt, pcs, parent_type,
                   correction_number) -> pa.Table:
    m = len(idx)
    take = pa.array(np.asarray(idx, np.int64))
    cn = parents.column("correction_number").take(take) if correction_number is None \
        else pa.array(correction_number, pa.string())
    return pa.table({
        "source_file": pa.nulls(m, pa.string()), "source_line": pa.nulls(m, pa.int32()),
        "slot": pa.nulls(m, pa.int8()), "parent_type": pa.array(np.full(m, parent_type)),
        "airline_prefix": parents.column("airline_prefix").take(take),
        "awb_serial": parents.column("awb_serial").take(take), "correction_number": cn,
        "currency": parents.column("currency").take(take),
        "charge_code": pa.array(code, pa.string()), "entitlement": pa.array(ent, pa.string()),
        "pc": pa.array(np.asarray(pcs)[np.asarray(idx, np.int64)] if len(pcs) != m else pcs,
                       pa.string()),
        "amount": pa.array(amt, pa.int64()),
    }, schema=CHARGES_SCHEMA)


def _corrections(rng, awbs: pa.Table, charges: pa.Table, idx: np.ndarray, rules=(),
                 operation: str = ""):
    m = len(idx)
    base = awbs.take(pa.array(idx)).to_pydict()
    is_cca = rng.random(m) < 0.6
    numbers = [(f"C{rng.integers(0, 100000):05d}" if cca else
                "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"), 6)))
               for cca in is_cca]
    orig = dict(base)
    rev = {k: list(v) for k, v in base.items()}
    for i in range(m):
        change = rng.random()
        if change < 0.5:  # weight charge re-rated
            factor = rng.uniform(0.8, 1.15)
            for col in ("weight_pp", "weight_cc"):
                rev[col][i] = round(rev[col][i] * factor)
            rev["commission"][i] = round((rev["weight_pp"][i] + rev["weight_cc"][i])
                                             * (rev["commission_pct_e2"][i] or 0) / 10000)
        elif change < 0.7:  # prepaid <-> collect
            for a, b in (("weight_pp", "weight_cc"), ("valuation_pp", "valuation_cc"),
                         ("oc_carrier_pp", "oc_carrier_cc"), ("oc_agent_pp", "oc_agent_cc")):
                rev[a][i], rev[b][i] = rev[b][i], rev[a][i]
        elif change < 0.85:  # weight and destination corrected
            rev["weight_tenths"][i] = int(rev["weight_tenths"][i] * rng.uniform(0.7, 1.3)) + 1
            rev["destination"][i] = str(rng.choice(DESTINATIONS))
        else:  # incentive granted
            rev["discount"][i] = abs(rev["discount"][i]) + int(rev["weight_pp"][i] * 0.05)
    tables, ctables = [], []
    reason = [None if cca else str(rng.choice(DCM_REASONS)) for cca in is_cca]
    for side, values in (("O", orig), ("R", rev)):
        rows = dict(values)
        rows["record_type"] = [("CC" if cca else "DC") + side for cca in is_cca]
        rows["correction_number"] = numbers
        rows["reason"] = reason
        pcs = {}
        for comp in ("weight", "valuation", "taxes", "oc_agent", "oc_carrier"):
            pp = np.asarray(rows.get(f"{comp}_pp") or [0] * m, dtype=np.int64)
            cc = np.asarray(rows.get(f"{comp}_cc") or [0] * m, dtype=np.int64)
            pcs[comp] = np.where((cc > 0) & (pp == 0), "C", "P")
            rows[f"{comp}_pc"] = pcs[comp]
            # a correction record carries one amount per component, with its P/C indicator
            rows[f"{comp}_cc"] = np.where(pcs[comp] == "C", cc, 0)
            rows[f"{comp}_pp"] = np.where(pcs[comp] == "P", pp, 0)
        rows["acceptance_date"] = [None] * m
        rows["commission_pct_e2"] = [None] * m
        t = _with_vat(_table(rows, m), rules, operation)
        tables.append(t)
        # itemised charges of each side: the AWB's charges (revised side scaled with its totals)
        serials = pa.array(base["awb_serial"], pa.string())
        cpos = np.flatnonzero(np.asarray(pc.is_in(charges.column("awb_serial"),
                                                  value_set=serials)))
        if len(cpos):
            sub = charges.take(pa.array(cpos))
            owners = np.asarray(pc.index_in(sub.column("awb_serial"), value_set=serials))
            amounts = np.asarray(sub.column("amount"))
            pcs_side = np.where(sub.column("entitlement").to_numpy(zero_copy_only=False) == "C",
                                pcs["oc_carrier"][owners], pcs["oc_agent"][owners])
            ctables.append(_charges_table(t, owners, sub.column("charge_code").to_pylist(),
                                          sub.column("entitlement").to_pylist(), amounts,
                                          pcs_side, None, None).set_column(
                3, "parent_type", pa.array(np.asarray(rows["record_type"])[owners])))
    # O and R records adjacent: O1 R1 O2 R2 ...
    both = pa.concat_tables(tables)
    order = np.stack([np.arange(m), np.arange(m) + m], axis=1).ravel()
    return [both.take(pa.array(order))], ctables


def _interleave(recs: pa.Table, chs: pa.Table) -> tuple[pa.Table, pa.Table]:
    """AWB records first (execution date order), then correction pairs; charges follow."""
    is_awb = np.asarray(recs.column("record_type").to_numpy(zero_copy_only=False) == "AWB")
    awb_pos = np.flatnonzero(is_awb)
    dates = np.asarray(recs.column("execution_date").cast(pa.int32()).fill_null(0))
    awb_pos = awb_pos[np.argsort(dates[awb_pos], kind="stable")]
    order = np.concatenate([awb_pos, np.flatnonzero(~is_awb)])
    return recs.take(pa.array(order)), chs


def _inject_table_faults(files: list[GeneratedFile], faults: list[str], rng, ref, operation):
    unknown = set(faults) - set(FAULT_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
    if not faults or not files:
        return
    target = max(files, key=lambda f: f.records.num_rows)
    t = target.records
    awb_rows = np.flatnonzero(t.column("record_type").to_numpy(zero_copy_only=False) == "AWB")

    def set_cell(col: str, row: int, value) -> None:
        nonlocal t
        arr = t.column(col).to_pylist()
        arr[row] = value
        t = t.set_column(t.schema.get_field_index(col), col, pa.array(arr, t.schema.field(
            col).type))

    for kind in faults:
        row = int(awb_rows[rng.integers(0, len(awb_rows))]) if len(awb_rows) else 0
        serial = t.column("awb_serial")[row].as_py()
        if kind == "bad_awb_check_digit":
            bad = serial[:7] + str((int(serial[7]) + 1) % 7)
            set_cell("awb_serial", row, bad)
            target.faults.append({"kind": kind, "awb": f"{target.airline_prefix}-{bad}"})
        elif kind == "bad_agent_check_digit":
            code = t.column("agent_code")[row].as_py()
            bad = code[:10] + str((int(code[10]) + 1) % 7)
            set_cell("agent_code", row, bad)
            target.faults.append({"kind": kind, "awb": f"{target.airline_prefix}-{serial}",
                                  "agent": bad})
        elif kind == "unknown_agent":
            while True:
                first10 = f"{rng.integers(0, 10**10):010d}"
                code = first10 + str(int(first10) % 7)
                if code not in ref.agents:
                    break
            set_cell("agent_code", row, code)
            target.faults.append({"kind": kind, "awb": f"{target.airline_prefix}-{serial}",
                                  "agent": code})
        elif kind == "duplicate_awb":
            t = pa.concat_tables([t, t.slice(row, 1)])
            target.faults.append({"kind": kind, "awb": f"{target.airline_prefix}-{serial}"})
        elif kind == "orphan_correction":
            types = t.column("record_type").to_numpy(zero_copy_only=False)
            ccr = np.flatnonzero(np.isin(types, ["CCR", "DCR"]))
            if len(ccr):
                drop = int(ccr[0])
                gone = t.slice(drop, 1).to_pylist()[0]
                t = t.take(pa.array([i for i in range(t.num_rows) if i != drop]))
                target.charges = target.charges.filter(pc.invert(pc.and_(
                    pc.equal(target.charges.column("parent_type"), gone["record_type"]),
                    pc.equal(target.charges.column("awb_serial"), gone["awb_serial"]))))
                target.faults.append({"kind": kind, "awb": f"{target.airline_prefix}-"
                                      f"{gone['awb_serial']}", "correction_number":
                                      gone["correction_number"]})
        else:  # byte-level faults are applied after writing
            target.faults.append({"kind": kind})
    target.records = t


def corrupt_bytes(data: bytes, faults: list[dict], newline: bytes = b"\r\n") -> bytes:
    """Apply the byte-level faults of a generated file to its written bytes."""
    lines = data.split(newline)
    if lines and lines[-1] == b"":
        lines.pop()
    for fault in faults:
        kind = fault["kind"]
        if kind == "wrong_trailer_count":
            t = bytearray(lines[-1])
            count = int(t[16:23]) + 1
            t[16:23] = f"{count:07d}".encode()
            lines[-1] = bytes(t)
            fault["line"] = len(lines)
        elif kind == "bad_hash_total":
            t = bytearray(lines[-1])
            t[44:56] = b"000000000001"
            lines[-1] = bytes(t)
            fault["line"] = len(lines)
        elif kind == "truncated_line" and len(lines) > 2:
            lines[-2] = lines[-2][:40]
            fault["line"] = len(lines) - 1
        elif kind in ("bad_date", "non_numeric_amount"):
            for i, line in enumerate(lines[1:-1], start=2):
                if line[:3] == b"AWB":
                    b = bytearray(line)
                    if kind == "bad_date":
                        b[38:44] = b"991399"
                    else:
                        b[55:67] = b"00000012A4B5"
                    lines[i - 1] = bytes(b)
                    fault["line"] = i
                    break
    return newline.join(lines) + newline


def today_period(ref: ReferenceData, operation: str, day: dt.date | None = None) -> PeriodInfo:
    """The published period holding ``day`` (today); never a neighbouring one."""
    day = day or dt.date.today()
    p = ref.period_for_date(operation, day)
    if p is None:
        end = ref.calendar_end(operation)
        raise ValueError(f"no {operation} period holds {day}: " + (
            f"the published calendar ends {end}; run `casslink calendar extend`" if end
            else f"no calendar for operation {operation}"))
    return p
