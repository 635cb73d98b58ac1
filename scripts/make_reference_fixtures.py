"""Produce fixtures/reference/*.csv, the demo world (run once; the CSVs are the committed data).

Calendars are written out as explicit dates so the pipeline reads them as data; this script is
only their provenance. Weekend billing/remittance dates move to the next Monday.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "reference"

OPERATIONS = [
    # code, name, currency, frequency, office code, VAT basis points
    ("DE", "CASS Germany", "EUR", "monthly", "234", 1900),
    ("IN", "CASS India", "INR", "fortnightly", "356", 1800),
    ("US", "CNS CASS USA", "USD", "semi-monthly", "CNS", 0),
]

AIRLINES = [
    # prefix, designator, name, operations
    ("020", "LH", "Lufthansa Cargo", "DE;IN;US"),
    ("057", "AF", "Air France", "DE;IN;US"),
    ("074", "KL", "KLM Royal Dutch Airlines", "DE;IN"),
    ("125", "BA", "British Airways", "DE;IN;US"),
    ("176", "EK", "Emirates SkyCargo", "DE;IN;US"),
    ("160", "CX", "Cathay Pacific Cargo", "DE;IN;US"),
    ("081", "QF", "Qantas Freight", "DE;US"),
    ("098", "AI", "Air India", "DE;IN;US"),
    ("006", "DL", "Delta Cargo", "DE;US"),
    ("618", "SQ", "Singapore Airlines Cargo", "DE;IN;US"),
]

AGENT_BASES = {"DE": "23", "IN": "14", "US": "01"}
FIRST = ["Rhein", "Nord", "Alpen", "Hansa", "Main", "Elbe", "Ganga", "Deccan", "Sahyadri", "Indus",
         "Hudson", "Pacific", "Atlantic", "Lone Star", "Great Lakes", "Sierra", "Blue Ridge",
         "Harbor", "Falcon", "Meridian"]
SECOND = {"DE": ("Air Logistik GmbH", "Spedition GmbH & Co. KG", "Cargo Service AG"),
          "IN": ("Freight Forwarders Pvt Ltd", "Air Cargo Agency", "Logistics India Ltd"),
          "US": ("Air Freight Inc.", "Global Logistics LLC", "Cargo Services Corp.")}


def check_digit(first10: str) -> str:
    return str(int(first10) % 7)


def next_business_day(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def periods(code: str, frequency: str, year: int = 2026):
    for month in range(1, 13):
        last = calendar.monthrange(year, month)[1]
        spans = [(None, 1, last)] if frequency == "monthly" else [(1, 1, 15), (2, 16, last)]
        for n, first_day, last_day in spans:
            start, end = dt.date(year, month, first_day), dt.date(year, month, last_day)
            lags = {"DE": (5, 10, 25), "IN": (2, 4, 12)}.get(code, (3, 6, 30))
            cutoff, billing, remit = (end + dt.timedelta(days) for days in lags)
            billing, remit = next_business_day(billing), next_business_day(remit)
            cutoff = min(cutoff, billing)
            pid = f"{year}-{month:02d}" if n is None else f"{year}-{month:02d}-{n}"
            yield (code, pid, start, end, cutoff, billing, remit)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "operations.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "settlement_currency", "billing_frequency", "office_code",
                    "vat_rate_bp"])
        w.writerows(OPERATIONS)
    with open(OUT / "calendar_2026.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["operation", "period_id", "start_date", "end_date", "correction_cutoff",
                    "billing_date", "remittance_date"])
        for code, _name, _cur, freq, _office, _vat in OPERATIONS:
            for row in periods(code, freq):
                w.writerow([row[0], row[1], *(d.isoformat() for d in row[2:])])
    with open(OUT / "airlines.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prefix", "designator", "name", "operations"])
        w.writerows(AIRLINES)
    rng = random.Random(2026)
    with open(OUT / "agents.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["agent_code", "name", "operation"])
        for op, base in AGENT_BASES.items():
            used: set[str] = set()
            for i in range(20):
                while True:
                    numeric = base + f"{rng.randrange(0, 100000):05d}"
                    if numeric not in used:
                        used.add(numeric)
                        break
                branch = f"{rng.choice([0, 1, 2, 5, 10, 15, 100, 510, 600, 851]):03d}"
                code = numeric + branch + check_digit(numeric + branch)
                name = f"{FIRST[i]} {SECOND[op][i % 3]}"
                w.writerow([code, name, op])


if __name__ == "__main__":
    main()
