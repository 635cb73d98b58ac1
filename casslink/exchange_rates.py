"""Reference rates of exchange, for stating an invoice's tax in the national currency.

Council Directive 2006/112/EC Art. 230 lets an invoice be in any currency provided the VAT
payable is also stated in the national currency; Art. 91(2) takes the rate from the latest
rate published by the European Central Bank when the tax becomes chargeable (the tax point).

``fixtures/reference/exchange_rates.csv``: one row per (date, currency) with the units of the
currency per 1 EUR as the ECB publishes them (euro foreign exchange reference rates; the rows
are copied from the ECB's historical file ``eurofxref-hist.csv``), and the source. A rate
between two other currencies is the cross rate through the euro of the same day, to
:data:`SIGNIFICANT` significant digits: the figure printed on the document is the figure
used. A tax point with no rate of the last :data:`MAX_AGE_DAYS` days has none (the document
cannot be issued until the table is updated).
"""

from __future__ import annotations

import csv
import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

from casslink.money import minor_unit, to_decimal

RATES_FILE = "exchange_rates.csv"
BASE = "EUR"
SIGNIFICANT = 6
MAX_AGE_DAYS = 7


class RateMissing(LookupError):
    """No reference rate for the currencies within MAX_AGE_DAYS of the date."""


@dataclass(frozen=True)
class Rate:
    """``rate`` units of ``to_code`` per 1 ``from_code``, published on ``date``."""

    from_code: str
    to_code: str
    rate: Decimal
    date: dt.date
    source: str

    def convert(self, minor: int) -> int:
        """``minor`` units of ``from_code`` in minor units of ``to_code``, rounded half-up."""
        value = to_decimal(minor, self.from_code) * self.rate
        unit = Decimal(1).scaleb(-minor_unit(self.to_code))
        return int(value.quantize(unit, rounding=ROUND_HALF_UP).scaleb(minor_unit(self.to_code)))


@dataclass
class ExchangeRates:
    """Per currency: its (date, units per EUR, source) rows in date order."""

    quotes: dict[str, list[tuple[dt.date, Decimal, str]]] = field(default_factory=dict)

    @classmethod
    def from_fixtures(cls, directory: Path) -> ExchangeRates:
        rates = cls()
        path = directory / RATES_FILE
        if not path.exists():
            return rates
        with open(path, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                per_eur = Decimal(r["per_eur"])
                if per_eur <= 0:
                    raise ValueError(f"{RATES_FILE}: rate {per_eur} for {r['currency']}")
                rates.quotes.setdefault(r["currency"].strip(), []).append(
                    (dt.date.fromisoformat(r["date"]), per_eur, r["source"].strip()))
        for rows in rates.quotes.values():
            rows.sort()
        return rates

    def _per_eur(self, code: str, on: dt.date) -> tuple[dt.date, Decimal, str] | None:
        if code == BASE:
            return None
        rows = self.quotes.get(code, [])
        i = bisect_right(rows, (on, Decimal("Infinity"), "\uffff"))
        return rows[i - 1] if i else None

    def rate(self, from_code: str, to_code: str, on: dt.date) -> Rate:
        """The latest rate from ``from_code`` to ``to_code`` published on or before ``on``."""
        quoted = {code: self._per_eur(code, on) for code in (from_code, to_code)
                  if code != BASE}
        if any(q is None for q in quoted.values()):
            missing = [c for c, q in quoted.items() if q is None]
            raise RateMissing(f"no reference rate for {', '.join(missing)} on or before {on}")
        dates = {q[0] for q in quoted.values()}
        day = min(dates) if dates else on
        if len(dates) > 1 or (on - day).days > MAX_AGE_DAYS:
            raise RateMissing(f"no {from_code}/{to_code} reference rate of one day within "
                              f"{MAX_AGE_DAYS} days before {on} (latest: {sorted(dates)})")
        per_from = quoted[from_code][1] if from_code != BASE else Decimal(1)
        per_to = quoted[to_code][1] if to_code != BASE else Decimal(1)
        with localcontext() as ctx:
            ctx.prec = SIGNIFICANT
            rate = +(per_to / per_from)
        sources = sorted({q[2] for q in quoted.values()})
        return Rate(from_code, to_code, rate, day, "/".join(sources))
