"""Produce fixtures/reference/*.csv, the demo world (run once; the CSVs are the committed data).

Calendars are rules (``calendar_rules.csv``, see casslink/calendars.py and docs/calendars.md);
``casslink reference load`` publishes their periods 18 months ahead. ``calendar_2026.csv`` is
the calendar published for 2026 - data this script no longer writes: operators correct it.
It was made by these rules with weekends only (no public holidays yet), and its DE 2026-11
remittance date was then corrected off Christmas Day (tests/test_calendars.py shows both).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from casslink.calendars import RULE_COLUMNS, CalendarRule, rule_to_row

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "reference"

OPERATIONS = [
    # code, name, currency, frequency, office code, VAT basis points
    ("DE", "CASS Germany", "EUR", "monthly", "234", 1900),
    ("IN", "CASS India", "INR", "fortnightly", "356", 1800),
    ("US", "CNS CASS USA", "USD", "semi-monthly", "CNS", 0),
]

SOURCE = {
    "DE": "monthly periods as CASS Germany's (spec 2.1: S17 header sample 1-31 Dec billed "
          "15 Jan); offsets of the published 2026 calendar; German national public holidays",
    "IN": "1st-15th and 16th-end of month as India's/Pakistan's CASS (spec 2.1: S21/S28); "
          "offsets of the published 2026 calendar; Indian national holidays",
    "US": "1st-15th and 16th-end of month as CNS CASS USA (spec 2.1: S7; remittance ~30 days "
          "after period end); US federal holidays",
}
CALENDAR_RULES = [
    # operation, frequency, cut-off / billing / remittance: days after the period end
    CalendarRule("DE", dt.date(2026, 1, 1), "monthly", 5, 10, 25, holidays="DE",
                 source=SOURCE["DE"]),
    CalendarRule("IN", dt.date(2026, 1, 1), "fortnightly", 2, 4, 12, holidays="IN",
                 source=SOURCE["IN"]),
    CalendarRule("US", dt.date(2026, 1, 1), "semi-monthly", 3, 6, 30, holidays="US",
                 source=SOURCE["US"]),
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "operations.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "settlement_currency", "billing_frequency", "office_code",
                    "vat_rate_bp"])
        w.writerows(OPERATIONS)
    with open(OUT / "calendar_rules.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, RULE_COLUMNS)
        w.writeheader()
        w.writerows(rule_to_row(r) for r in CALENDAR_RULES)
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
