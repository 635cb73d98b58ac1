"""kill -9 inside ``casslink payments import``, ``collect`` and ``payout``, then a retry: a
statement is imported once, a remittance debited once, a payout paid once; the hinge balance
holds throughout (SQLite and PostgreSQL)."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select

from casslink.db.engine import session_scope
from casslink.db.models import PayMovement, PayPosting, PayRemittance, PayStatement
from casslink.payments import ledger
from casslink.payments.references import remittance_reference
from casslink.payments.terms import load_terms
from tests.camt_files import credit, statement
from tests.crash_cli import casslink
from tests.test_payments_period import A1, A4, A5, R, settle_period

REPO = Path(__file__).resolve().parents[1]


def _count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_kill9_then_retry_moves_money_once(system, tmp_path):
    settings, engine = system
    settle_period(settings, engine)
    terms = load_terms(REPO / "fixtures" / "reference")
    out = tmp_path / "files"
    collect = ["payments", "collect", "--operation", "DE", "--period", "2026-11",
               "--date", "2026-12-11", "--out", str(out)]
    died = casslink(settings, *collect, fault="payments:collect-before-commit")
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert _count(engine, PayPosting) > 0  # the dues were committed before the debits
    with session_scope(engine) as s:
        assert set(s.scalars(select(PayRemittance.status))) == {"OPEN", "CREDIT"}
    ok = casslink(settings, *collect)
    assert ok.returncode == 0, ok.stderr
    again = casslink(settings, *collect, "--json")
    assert '"debits": 0' in again.stdout  # debited once: the retry wrote them, not a third
    with session_scope(engine) as s:
        debited = sorted(s.scalars(select(PayRemittance.agent_code).where(
            PayRemittance.status == "DEBITED")))
    # every agent with a positive remittance pays by debit (the DE default) but A5's wallet
    # is empty here
    assert len(debited) == 5 and A5 in debited

    iban = terms.hinge("DE").iban
    path = tmp_path / "s1.xml"
    path.write_bytes(statement("CRASH-1", [
        credit(150000, R, e2e=remittance_reference("DE", "2026-11", A1)),
        credit(40000, R, e2e=remittance_reference("DE", "2026-11", A4))], iban=iban))
    died = casslink(settings, "payments", "import", str(path),
                    fault="payments:import-before-commit")
    assert died.returncode == -signal.SIGKILL
    assert _count(engine, PayStatement) == 0 and _count(engine, PayMovement) == 0
    for _ in range(2):
        ok = casslink(settings, "payments", "import", str(path))
        assert ok.returncode == 0, ok.stderr
    assert "imported before" in ok.stdout
    assert _count(engine, PayStatement) == 1 and _count(engine, PayMovement) == 2
    assert ledger.hinge_balance(engine, "DE", "EUR") == 190000

    payout = ["payments", "payout", "--operation", "DE", "--period", "2026-11",
              "--date", "2026-12-29", "--out", str(out), "--json"]
    died = casslink(settings, *payout, fault="payments:payout-file-written")
    assert died.returncode == -signal.SIGKILL
    assert (out / "pain.001-DE-EUR-2026-11-r1.xml").exists()  # written, not committed
    assert ledger.hinge_balance(engine, "DE", "EUR") == 190000
    ok = casslink(settings, *payout)
    assert ok.returncode == 0, ok.stderr
    assert f'"file": "{out / "pain.001-DE-EUR-2026-11-r1.xml"}"' in ok.stdout
    # A1 and A4 paid: LH gets 1000 + 400 - 300 (A6's credit, funded), AF 500, A6 300
    assert ledger.hinge_balance(engine, "DE", "EUR") == 190000 - 110000 - 50000 - 30000 == 0
    ok = casslink(settings, *payout)  # nothing more has cleared: no second payment
    assert '"file": null' in ok.stdout
    assert sorted(p.name for p in out.glob("pain.001-*")) == ["pain.001-DE-EUR-2026-11-r1.xml"]
