"""Write fixtures/reference/parties.csv: the legal identity (name, address, tax id) of every
fixture airline per operation and of every fixture agent. Deterministic; the tax ids are
made-up numbers with valid check digits (python-stdnum computes them), not real companies'.

Run: .venv/bin/python scripts/make_invoice_parties.py
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from stdnum import luhn
from stdnum.cn import uscc
from stdnum.de import vat as de_vat
from stdnum.fr import tva as fr_tva
from stdnum.in_ import gstin
from stdnum.jp import cn as jp_cn
from stdnum.kr import brn as kr_brn

REF = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
LANGS = ("en", "de", "fr", "es", "pt", "zh-Hans", "ja", "ko")
ADDRESS = {  # operation -> (street, postcode, city, country, state code)
    "DE": ("Frankfurter Straße {n}", "60549", "Frankfurt am Main", "DE", ""),
    "IN": ("Cargo Complex, Sahar Road {n}", "400099", "Mumbai", "IN", "27"),
    "US": ("{n} Cargo Plaza", "11430", "Jamaica NY", "US", ""),
    "JP": ("成田市古込1-{n}", "282-0004", "Narita, Chiba", "JP", ""),
    "PK": ("Cargo Village, Jinnah International Airport {n}", "75200", "Karachi", "PK", ""),
    "CN": ("上海市浦东新区机场大道{n}号", "201207", "Shanghai", "CN", ""),
    "KR": ("인천광역시 중구 공항동로 {n}", "22382", "Incheon", "KR", ""),
    "FR": ("{n} rue du Te, Roissypole", "95700", "Roissy-en-France", "FR", ""),
}
# the language of the documents a party of an operation receives (DE agents cycle all eight)
OP_LANGUAGE = {"DE": "en", "IN": "en", "US": "en", "JP": "ja", "PK": "en", "CN": "zh-Hans",
               "KR": "ko", "FR": "fr"}


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


def fr_vat_id(seed: str) -> str:
    """FR + 2-digit key + SIREN (8 digits and a Luhn check digit)."""
    body = "4" + _digits(seed, 7)
    siren = body + luhn.calc_check_digit(body)
    key = next(f"{k:02d}" for k in range(100) if fr_tva.is_valid(f"FR{k:02d}{siren}"))
    return f"FR{key}{siren}"


def kr_business_number(seed: str) -> str:
    """Korean business registration number: office 101-999, type, serial and check digit."""
    base = str(101 + int(_digits(seed, 3)) % 899) + "81" + _digits(seed + "s", 4)
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(int(d) * w for d, w in zip(base, weights, strict=True)) + int(base[8]) * 5 // 10
    number = base + str((10 - total % 10) % 10)
    return kr_brn.format(kr_brn.validate(number))


def cn_uscc(seed: str) -> str:
    """Unified social credit code: 91 (enterprise), 310115 (Pudong), organisation code, check."""
    body = "91310115" + _digits(seed, 9)
    return body + uscc.calc_check_digit(body)


def pk_ntn(seed: str) -> str:
    """Pakistani NTN: 7 digits, a dash and a check digit (python-stdnum has no PK NTN
    validator, so only the format is checked)."""
    return _digits(seed, 7) + "-" + _digits(seed + "c", 1)


def tax_id(op: str, seed: str) -> tuple[str, str]:
    """(scheme, id) of a party registered in operation ``op``'s country."""
    if op == "DE":
        return "VAT", de_vat_id(seed)
    if op == "FR":
        return "VAT", fr_vat_id(seed)
    if op == "IN":
        return "GST", in_gstin(seed, ADDRESS["IN"][4])
    if op == "JP":
        return "JCT", jp_registration(seed)
    if op == "KR":
        return "BRN", kr_business_number(seed)
    if op == "CN":
        return "USCC", cn_uscc(seed)
    if op == "PK":
        return "NTN", pk_ntn(seed)
    return "EIN", us_ein(seed)


def main() -> None:
    rows = []
    with open(REF / "airlines.csv", encoding="utf-8") as fh:
        airlines = list(csv.DictReader(fh))
    with open(REF / "agents.csv", encoding="utf-8") as fh:
        agents = list(csv.DictReader(fh))
    for i, a in enumerate(airlines, 1):
        # every airline also has a JP identity (the JP qualified-invoice tests use it)
        for op in dict.fromkeys([*a["operations"].split(";"), "JP"]):
            street, postcode, city, country, _ = ADDRESS[op]
            scheme, tid = tax_id(op, f"airline{a['prefix']}{op}")
            rows.append({"kind": "airline", "code": a["prefix"], "operation": op,
                         "legal_name": a["name"],
                         "street": street.format(n=i), "postcode": postcode, "city": city,
                         "country": country, "tax_scheme": scheme, "tax_id": tid,
                         "language": OP_LANGUAGE[op]})
    per_op: dict[str, int] = {}
    for g in agents:
        op = g["operation"]
        n = per_op[op] = per_op.get(op, 0) + 1
        street, postcode, city, country, _ = ADDRESS[op]
        scheme, tid = tax_id(op, f"agent{g['agent_code']}")
        language = LANGS[(n - 1) % len(LANGS)] if op == "DE" else OP_LANGUAGE[op]
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
