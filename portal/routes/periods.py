"""``GET /api/v1/periods/current``: real-time reporting. For the participant's open periods
(the calendar's current one or, once closed, the next, and any other still open that has
accepted records), what has been accepted so far: per counterpart (agent or airline) and
currency, the records, the agent-net components, the tax and the net. Read from
``period_totals`` (per counterpart) and ``participant_totals`` (per currency), which each
ingest updates in the transaction that records the file (never from the warehouse's
Parquet)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink import period_totals
from casslink.db.models import BillingPeriod, Participant
from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user, selected_participant
from casslink.portal.rendering import environment, page_language, render

router = APIRouter()
MONEY = (*period_totals.COMPONENTS, "net")
PAGE_ROWS = 100
"""A page shows the largest counterparts of a period (by net); the API returns all."""


class FastJSONResponse(JSONResponse):
    """JSON encoded by msgspec: the same document as JSONResponse's (compact, UTF-8), about 20
    times faster - an airline's period holds a row per agent."""

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _airline(part: Participant) -> bool:
    return part.kind in ("airline", "gssa")


def currency_totals(rows: list[dict]) -> list[dict]:
    """The records and amounts of ``rows`` summed per currency (never across currencies)."""
    per_cur = defaultdict(lambda: dict.fromkeys(("records", *MONEY), 0))
    for row in rows:
        acc = per_cur[row["currency"]]
        for c in ("records", *MONEY):
            acc[c] += row[c]
    return [{"currency": cur, **v} for cur, v in sorted(per_cur.items())]


def open_periods(s: DbSession, part: Participant, operation: str | None,
                 today: dt.date) -> list[dict]:
    """The participant's current open periods (the calendar's current one - the next open
    one once today's is closed, where files go then - and any other still open that has
    accepted records), each with its totals per currency and when they last changed - read
    from ``participant_totals``, a few rows per period."""
    return open_periods_of(s, [part], operation, today)[0]


PERIOD_COLUMNS = (BillingPeriod.operation_code, BillingPeriod.period_id, BillingPeriod.status,
                  BillingPeriod.start_date, BillingPeriod.end_date, BillingPeriod.billing_date)
"""What :func:`_period` reads of a period: rows of these, not ORM objects (an operation has
some 30 open periods, read on every request of the live and consolidated views)."""


def open_periods_of(s: DbSession, parts: list[Participant], operation: str | None,
                    today: dt.date) -> list[list[dict]]:
    """:func:`open_periods` of each of ``parts``, in two queries however many they are."""
    mine: dict[tuple[str, str], dict[tuple[str, str], list]] = defaultdict(
        lambda: defaultdict(list))
    for t in period_totals.of_participants(s, [(p.kind, p.code) for p in parts], operation):
        mine[(t.side, t.code)][(t.operation_code, t.period_id)].append(t)
    ops_of = []
    for part in parts:
        ops = {operation} if operation else ({part.operation_code} | {
            op for op, _ in mine[(period_totals.side(part.kind), part.code)]})
        ops.discard(None)
        ops_of.append(ops)
    periods = {(bp.operation_code, bp.period_id): bp for bp in s.execute(
        select(*PERIOD_COLUMNS).where(BillingPeriod.operation_code.in_(set().union(*ops_of)
                                                                       or {""}),
                                      BillingPeriod.status == "open"))}
    current_of: dict[str, tuple[str, str]] = {}  # per operation: the period files go to now
    for key, bp in sorted(periods.items(), key=lambda kv: kv[1].start_date):
        if bp.end_date >= today and key[0] not in current_of:
            current_of[key[0]] = key  # today's, or the next one if today's is closed
    out = []
    for part, ops in zip(parts, ops_of, strict=True):
        have = mine[(period_totals.side(part.kind), part.code)]
        current = {current_of[op] for op in ops if op in current_of}
        keys = sorted((set(have) & set(periods)) | current,
                      key=lambda k: (k[0], periods[k].start_date))
        out.append([_period(periods[key], have.get(key, [])) for key in keys])
    return out


def _period(bp, totals: list) -> dict:
    """An open period with the participant's ``participant_totals`` rows in it."""
    return {"operation": bp.operation_code, "period": bp.period_id, "status": bp.status,
            "start": bp.start_date.isoformat(), "end": bp.end_date.isoformat(),
            "billing_date": bp.billing_date.isoformat(),
            "totals": [{"currency": t.currency, "records": t.records,
                        **{c: getattr(t, c) for c in MONEY}} for t in totals],
            "updated_at": max((t.updated_at for t in totals if t.updated_at), default=None)}


def current_periods(s: DbSession, part: Participant, operation: str | None,
                    today: dt.date, largest: int | None = None,
                    language: str | None = None) -> list[dict]:
    """:func:`open_periods` with their rows per counterpart and currency: all of them, or
    (``largest``) that many with the largest absolute net, and ``all_rows``, their number.
    With a ``language``, also ``rows_html``: the page's table rows of them, in it."""
    out = open_periods(s, part, operation, today)
    for per in out:  # a participant has pair rows in a period iff it has totals there
        kept = _pair_rows(s, part, per, largest) if per["totals"] else None
        per["rows"] = kept.rows if kept else []
        per["all_rows"] = len(per["rows"]) if largest is None or not per["rows"] else (
            period_totals.count_for_participant(s, part.kind, part.code, per["operation"],
                                                per["period"]))
        if language is not None:
            per["rows_html"] = _rows_html(kept, part, per, language) if kept else Markup()
    return out


ROWS_KEPT = 64
"""How many (participant, period) row lists each portal process keeps (see _pair_rows)."""


@dataclass
class _Kept:
    """A (participant, period)'s rows, while its totals are ``stamp``, and the page's table
    rows of them rendered per language (the same rows give the same HTML)."""

    stamp: tuple
    rows: list[dict]
    html: dict[str, Markup] = field(default_factory=dict)
    rendering: threading.Lock = field(default_factory=threading.Lock)


_kept: OrderedDict[tuple, _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _pair_rows(s: DbSession, part: Participant, per: dict, largest: int | None) -> _Kept:
    """``period_totals.for_participant`` for the period ``per`` (of :func:`open_periods`),
    reused while the participant's totals there are unchanged: an ingest that adds to any of
    its pair rows adds records to its totals and sets their ``updated_at`` in the same
    transaction, so the same totals mean the same rows. Callers must not change the list."""
    key = (period_totals.side(part.kind), part.code, per["operation"], per["period"], largest)
    stamp = (per["updated_at"], tuple((t["currency"], t["records"]) for t in per["totals"]))
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None and kept.stamp == stamp:
            _kept.move_to_end(key)
            return kept
    kept = _Kept(stamp, period_totals.for_participant(s, part.kind, part.code,
                                                      per["operation"], per["period"], largest))
    with _kept_lock:
        _kept[key] = kept
        _kept.move_to_end(key)
        while len(_kept) > ROWS_KEPT:
            _kept.popitem(last=False)
    return kept


def _rows_html(kept: _Kept, part: Participant, per: dict, language: str) -> Markup:
    """The page's table rows of ``kept.rows`` in ``language`` (period_rows.html), rendered
    once per language while the rows are kept: ~100 rows of ten formatted amounts and a link
    were most of the page's time. Reads only the rows, the period and the participant (the
    key of ``kept``) - nothing of the user."""
    html = kept.html.get(language)
    if html is None:
        with kept.rendering:  # the requests arriving together wait for one rendering
            html = kept.html.get(language)
            if html is None:
                html = Markup(environment(language).get_template("period_rows.html").render(
                    per=per, part=part, airline=_airline(part)))
                kept.html[language] = html
    return html


def _participant_or_403(s: DbSession, p: Principal, code: str) -> Participant:
    p.require("view", code)
    part = views.participant(s, code)
    if part is None:
        raise HTTPException(404, "no such participant")
    return part


@router.get("/api/v1/periods/current", tags=["periods"], response_class=JSONResponse)
def api_current(participant: str, operation: str | None = None,
                p: Principal = Depends(current_user), s: DbSession = DB):
    """Real-time: what the participant's open periods have accepted so far, per
    counterpart and currency (records, components, tax, net; minor units), and totals per
    currency. Updated as each file is ingested."""
    part = _participant_or_403(s, p, participant)
    periods = current_periods(s, part, operation, _today())
    for per in periods:
        del per["all_rows"]
        per["updated_at"] = per["updated_at"].isoformat() if per["updated_at"] else None
    return FastJSONResponse({"participant": part.code, "kind": part.kind, "name": part.name,
                             "as_of": dt.datetime.now(dt.UTC).isoformat(),
                             "periods": periods})


@router.get("/periods/current", include_in_schema=False)
def current_page(request: Request, p: Principal = Depends(current_user),
                 s: DbSession = DB):
    code = selected_participant(request, p)
    part = _participant_or_403(s, p, code) if code else None
    periods = current_periods(s, part, None, _today(), PAGE_ROWS,
                              page_language(request)) if part else []
    template = "period_live.html" if request.headers.get("hx-request") else "period.html"
    return render(request, template, part=part, periods=periods, current_code=code,
                  airline=bool(part and _airline(part)))
