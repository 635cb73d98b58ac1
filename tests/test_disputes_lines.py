"""Raise a dispute from a billed line: the live period view and the statements link each
counterpart to its drill-down (``/lines``: that agent x airline's lines of the period,
paged, marked with their disputes), whose "Dispute" action opens the raise form pre-filled
(tests/dispute_world.py: A1's AWB 020-12345675 in DE 2026-11)."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import urlencode

import pytest

from casslink.portal.routes import lines, periods
from casslink.settlement.run import settle
from tests.dispute_world import A1, AWB1, AWB_DEC, LH, client, portal_world


@pytest.fixture
def world(system, tmp_path):
    return portal_world(*system, tmp_path)


def _url(period: str, **extra) -> str:
    return "/lines?" + urlencode({"operation": "DE", "period": period, "agent": A1,
                                  "airline": LH, **extra})


def _hrefs(page: str, attr: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'href="([^"]+)"[^>]*{attr}', page)]


def test_raise_from_a_billed_line_then_see_it_marked(world, monkeypatch):
    s, engine, _ = world
    agent, airline = client(world, "fw-admin"), client(world, "lh-admin")
    nov = agent.get(_url("2026-11"))
    assert nov.status_code == 200
    assert re.findall(r'data-awb="([^"]+)" data-record="(\w+)"', nov.text) == [
        (f"{LH}-{AWB1}", "AWB")]
    [form_url] = _hrefs(nov.text, 'data-action="dispute"')
    assert form_url == "/disputes/new?" + urlencode({
        "operation": "DE", "period": "2026-11", "agent": A1, "airline": LH,
        "awb": f"{LH}-{AWB1}"})

    form = agent.get(form_url).text  # pre-filled, the billed line shown above the form
    assert f'value="{LH}-{AWB1}"' in form and f'<option value="{A1}" selected>' in form
    billed = form[form.index('data-field="billed"'):form.index("</table>")]
    # weight, other charges, commission, VAT and net as the airline's file billed them
    assert re.findall(r'<td class="num">([^<]*)<', billed) == [
        "€1,000.00", "€50.00", "€50.00", "€0.00", "€1,000.00"]
    raised = agent.post("/disputes", data={"agent": A1, "airline": LH, "awb": f"{LH}-{AWB1}",
                                           "reason": "rate", "amount": "120.00",
                                           "csrf": agent.headers["X-CSRF-Token"]},
                        follow_redirects=False)
    assert raised.status_code == 303
    did = int(raised.headers["location"].rsplit("/", 1)[1])
    marked = agent.get(_url("2026-11")).text
    assert re.search(rf'data-field="dispute" class="nowrap" data-status="RAISED">'
                     rf'<a href="/disputes/{did}">#{did}</a> Raised', marked)

    # the airline sees the pair's lines and the mark, but has no Dispute action
    seen = airline.get(_url("2026-11")).text
    assert f"#{did}</a> Raised" in seen and 'data-action="dispute"' not in seen

    # accepted: December bills the CCA (CCO/CCR) beside A1's December AWB; paged by 2
    airline.post(f"/api/v1/disputes/{did}/decision", json={"accept": True, "amount": "80.00"})
    monkeypatch.setattr(lines, "PAGE_LINES", 2)
    first = agent.get(_url("2026-12")).text
    assert re.findall(r'data-awb="([^"]+)" data-record="(\w+)"', first) == [
        (f"{LH}-{AWB_DEC}", "AWB"), (f"{LH}-{AWB1}", "CCO")]
    assert "Page 1 of 2" in first and _hrefs(first, 'rel="next"') == [_url("2026-12", page=2)]
    second = agent.get(_url("2026-12", page=2)).text
    assert re.findall(r'data-awb="([^"]+)" data-record="(\w+)"', second) == [
        (f"{LH}-{AWB1}", "CCR")]
    assert f"#{did}</a> Adjusted" in second
    [corr_url] = _hrefs(second, 'data-action="dispute"')
    assert "correction=CP0001" in corr_url

    # the statements link each counterpart to its lines
    settle(s, engine, "DE", "2026-11")
    assert _url("2026-11") in html.unescape(agent.get("/statements").text)
    airline_view = html.unescape(airline.get("/statements").text)
    assert _url("2026-11") in airline_view


def test_the_live_period_view_links_to_the_lines(world, monkeypatch):
    monkeypatch.setattr(periods, "_today", lambda: dt.date(2026, 12, 4))
    agent, airline = client(world, "fw-admin"), client(world, "lh-admin")
    page = html.unescape(agent.get("/periods/current").text)
    assert 'data-period="DE-2026-12"' in page and _url("2026-12") in page
    assert _url("2026-12") in html.unescape(airline.get("/periods/current").text)


def test_another_agent_gets_nothing(world):
    other = client(world, "other-agent")
    assert other.get(_url("2026-11")).status_code == 404
    assert AWB1 not in other.get(_url("2026-11")).text


def test_without_a_pair_the_lines_send_to_the_live_period_view(world):
    r = client(world, "fw-admin").get("/lines", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/periods/current")
