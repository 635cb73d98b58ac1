"""The statements page links each counterpart's AWB lines once, however many currencies the
counterpart settled in (its rows come one per counterpart and currency)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from casslink.portal.rendering import environment


def test_a_counterpart_in_two_currencies_is_linked_once() -> None:
    rows = [{"counterpart": "23105800012", "currency": "EUR", "net": 500},
            {"counterpart": "23551308513", "currency": "EUR", "net": 300},
            {"counterpart": "23105800012", "currency": "USD", "net": 100}]
    statement = {"operation": "DE", "period": "2026-12", "role": "settlement", "run_id": 1,
                 "remittance_date": "2027-01-25", "totals": [], "rows": rows, "files": []}
    page = environment("en").get_template("statements.html").render(
        request=SimpleNamespace(url=SimpleNamespace(path="/statements")), principal=None,
        csrf="x", part=SimpleNamespace(code="020", name="Lufthansa Cargo"), airline=True,
        statements=[statement])
    assert re.findall(r'data-lines="(\d+)"', page) == ["23105800012", "23551308513"]
