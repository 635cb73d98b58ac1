"""Write fixtures/reference/parties.csv: the legal identity (name, address, tax id) of every
fixture airline per operation and of every fixture agent. Deterministic; the tax ids are
made-up numbers with valid check digits (python-stdnum computes them), not real companies'.

Run: .venv/bin/python scripts/make_invoice_parties.py
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from stdnum.de import vat as de_vat
from stdnum.in_ import gstin
from stdnum.jp import cn as jp_cn

REF = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
LANGS = ("en", "de", "fr", "es", "pt", "zh-Hans", "ja", "ko")
ADDRESS = {  # operation -> (street, postcode, city, country, state code)
    "DE": ("Frankfurter Straße {n}", "60549", "Frankfurt am Main", "DE", ""),
    "IN": ("Cargo Complex, Sahar Road {n}", "400099", "Mumbai", "IN", "27"),
    "US": ("{n} Cargo Plaza", "11430", "Jamaica NY", "US", ""),
    "JP": ("成田市古込1-{n}", "282-0004", "Narita, Chiba", "JP", ""),
}


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n]


def de_vat_id(seed: str) -> str:
    body = "1" + _digits(seed, 7)
    check = next(d for d in "0123456789" if de_vat.is_valid("DE" + body + d))
    return "DE" + body + check


def in_gstin(seed: str, state: str) -> str:
    pan = "AAAC" + "ABCDEFGHJK"[int(_digits(seed, 1))] + _digits(seed + "p", 4) + "F"
    body = state + pan + "1Z"
    check = next(c for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if gstin.is_valid(body + c))
    return body + check


def us_ein(seed: str) -> str:
    return "13-" + _digits(seed, 7)


def jp_registration(seed: str) -> str:
    base = _digits(seed, 12)
    return "T" + jp_cn.calc_check_digit(base) + base


def tax_id(op: str, seed: str) -> tuple[str, str]:
    """(scheme, id) of a party registered in operation ``op``'s country."""
    if op == "DE":
        return "VAT", de_vat_id(seed)
    if op == "IN":
        return "GST", in_gstin(seed, ADDRESS["IN"][4])
    if op == "JP":
        return "JCT", jp_registration(seed)
    return "EIN", us_ein(seed)


def main() -> None:
    rows = []
    with open(REF / "airlines.csv", encoding="utf-8") as fh:
        airlines = list(csv.DictReader(fh))
    with open(REF / "agents.csv", encoding="utf-8") as fh:
        agents = list(csv.DictReader(fh))
    for i, a in enumerate(airlines, 1):
        for op in [*a["operations"].split(";"), "JP"]:
            street, postcode, city, country, _ = ADDRESS[op]
            scheme, tid = tax_id(op, f"airline{a['prefix']}{op}")
            rows.append({"kind": "airline", "code": a["prefix"], "operation": op,
                         "legal_name": a["name"],
                         "street": street.format(n=i), "postcode": postcode, "city": city,
                         "country": country, "tax_scheme": scheme, "tax_id": tid,
                         "language": "ja" if op == "JP" else "en"})
    per_op: dict[str, int] = {}
    for g in agents:
        op = g["operation"]
        n = per_op[op] = per_op.get(op, 0) + 1
        street, postcode, city, country, _ = ADDRESS[op]
        scheme, tid = tax_id(op, f"agent{g['agent_code']}")
        language = {"DE": LANGS[(n - 1) % len(LANGS)], "IN": "en", "US": "en"}[op]
        rows.append({"kind": "agent", "code": g["agent_code"], "operation": op,
                     "legal_name": g["name"], "street": street.format(n=100 + n),
                     "postcode": postcode, "city": city, "country": country,
                     "tax_scheme": scheme, "tax_id": tid, "language": language})
    with open(REF / "parties.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
