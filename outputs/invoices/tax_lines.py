"""The tax lines of a settled period: one row per (agent, airline, tax code, rate).

The tax engine writes ``tax.parquet`` beside the bills (columns :data:`TAX_COLUMNS`, amounts
in the settlement currency's minor units). A ledger written before the tax engine existed
has none: :func:`derived_from_bills` then makes one VAT row per bill and side from the bills'
``tax_airline`` / ``tax_agent`` and the operation's single ``vat_rate_bp`` (the base is the
tax divided by the rate, rounded half up: base x rate rounds back to the tax exactly).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TAX_FILE = "tax.parquet"
TAX_COLUMNS = ("agent_code", "airline_prefix", "code", "name", "side", "rate_bp",
               "applies_to", "rule_version", "base", "tax", "lines")
SIDES = {"tax_airline": "airline", "tax_agent": "agent"}


class TaxLinesError(ValueError):
    """Tax lines that contradict the bills (fails the invoicing loudly)."""


def read_tax_lines(folder: Path, bills: pa.Table, vat_rate_bp: int) -> list[dict]:
    """The run's tax rows as dicts: ``tax.parquet`` when the run has one, else derived."""
    path = Path(folder) / TAX_FILE
    if path.exists():
        table = pq.ParquetFile(path).read()
        missing = set(TAX_COLUMNS) - set(table.column_names)
        if missing:
            raise TaxLinesError(f"{path}: missing columns {sorted(missing)}")
        return table.select(list(TAX_COLUMNS)).to_pylist()
    return derived_from_bills(bills, vat_rate_bp)


def derived_from_bills(bills: pa.Table, vat_rate_bp: int) -> list[dict]:
    """Fallback for a ledger without ``tax.parquet``: one VAT row per bill and side."""
    rows = []
    names = [c for c in bills.column_names if c in ("agent_code", "airline_prefix", "records")
             or any(c.endswith(k) for k in SIDES)]
    for b in bills.select(names).to_pylist():
        for column, side in SIDES.items():
            tax = sum(int(b.get(k) or 0) for k in (column, f"cca_{column}", f"dcm_{column}"))
            if not tax:
                continue
            if vat_rate_bp <= 0:
                raise TaxLinesError(
                    f"bill {b['agent_code']}/{b['airline_prefix']}: {column} {tax} but the "
                    "operation has no VAT rate")
            rows.append({"agent_code": b["agent_code"], "airline_prefix": b["airline_prefix"],
                         "code": "VAT", "name": "VAT", "side": side, "rate_bp": vat_rate_bp,
                         "applies_to": "derived", "rule_version": "bills",
                         "base": base_of(tax, vat_rate_bp), "tax": tax,
                         "lines": int(b["records"])})
    return rows


def base_of(tax: int, rate_bp: int) -> int:
    """The taxable base whose tax at ``rate_bp`` rounds (half up) to ``tax``."""
    num, den = abs(tax) * 10_000, rate_bp
    q, r = divmod(num, den)
    base = q + (1 if 2 * r >= den else 0)
    return base if tax >= 0 else -base


def tax_of(base: int, rate_bp: int) -> int:
    """``base x rate`` rounded half up (away from zero) to the minor unit."""
    q, r = divmod(abs(base) * rate_bp, 10_000)
    tax = q + (1 if 2 * r >= 10_000 else 0)
    return tax if base >= 0 else -tax
