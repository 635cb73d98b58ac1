"""The payment ledger: double-entry, in minor units, in the project database.

A posting moves ``amount`` (> 0) from its credit account to its debit account, in one
operation and currency. Balances are sums of postings (``debits - credits``), never stored.
Postings are immutable (:func:`guard_immutable` refuses any UPDATE or DELETE through the ORM);
a correction is a new posting that names the one it reverses. Each posting carries a key, so
a retried step posts nothing twice.

Accounts (names within an operation and currency):

========================  ==================================================================
``agent:<code>``          receivable: what the agent owes (negative: what CASS owes it)
``airline:<prefix>``      payable: credit balance = what CASS owes the airline
``tax:<operation>``       withheld tax owed to the tax authority
``wallet:<code>``         the agent's prepayment wallet (credit balance = its funds)
``hinge``                 cash at the clearing bank (debit balance)
``suspense``              cash received but not matched to a remittance yet
``settlement``            clearing of a period's dues: zero once the period is posted
========================  ==================================================================

:func:`check` runs before every commit that changes the ledger and raises
:class:`HingeError` unless the hinge balance equals the cash movements the bank and the
payment files record (in - out), and is not negative, and every period's ``settlement``
account is zero.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, case, event, func, or_, select
from sqlalchemy.orm import Session

from casslink.db.models import PayMovement, PayPosting

HINGE, SUSPENSE, SETTLEMENT = "hinge", "suspense", "settlement"


class HingeError(RuntimeError):
    """The payment ledger does not hold: the message says what is off. Nothing is committed."""


def agent(code: str) -> str:
    return f"agent:{code}"


def airline(prefix: str) -> str:
    return f"airline:{prefix}"


def wallet(code: str) -> str:
    return f"wallet:{code}"


def tax(operation: str) -> str:
    return f"tax:{operation}"


@event.listens_for(Session, "before_flush")
def guard_immutable(session: Session, _context, _instances) -> None:
    """Postings and movements are never changed or deleted: a correction is a new posting."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, PayPosting | PayMovement) and (
                obj in session.deleted or session.is_modified(obj)):
            raise HingeError(f"{type(obj).__name__} {obj.key} is immutable: post a reversal")


def posting(key: str, operation: str, currency: str, debit: str, credit: str, amount: int,
            kind: str, value_date: dt.date, period_id: str | None = None, note: str = "",
            reverses: PayPosting | None = None) -> PayPosting | None:
    """The posting :func:`post` would add (not added to any session): a negative amount swaps
    the sides, zero is None."""
    amount = int(amount)
    if amount == 0:
        return None
    if amount < 0:
        debit, credit, amount = credit, debit, -amount
    if debit == credit:
        raise HingeError(f"posting {key}: debit and credit are both {debit}")
    if reverses is not None and reverses.id is None:
        raise HingeError(f"posting {key}: the posting it reverses is not flushed yet")
    return PayPosting(key=key, operation_code=operation, currency=currency,
                      period_id=period_id, debit_account=debit, credit_account=credit,
                      amount=amount, kind=kind, value_date=value_date, note=note,
                      reverses_id=reverses.id if reverses is not None else None)


def post(s: Session, key: str, operation: str, currency: str, debit: str, credit: str,
         amount: int, kind: str, value_date: dt.date, period_id: str | None = None,
         note: str = "", reverses: PayPosting | None = None) -> PayPosting | None:
    """Post ``amount`` from ``credit`` to ``debit``; a negative amount swaps the sides, zero
    posts nothing. A key already posted returns None (a retry is a no-op)."""
    row = posting(key, operation, currency, debit, credit, amount, kind, value_date,
                  period_id, note, reverses)
    if row is None or s.scalar(select(PayPosting.id).where(PayPosting.key == key)) is not None:
        return None
    s.add(row)
    s.flush()
    return row


def reverse(s: Session, original: PayPosting, key: str, kind: str, value_date: dt.date,
            note: str = "") -> PayPosting | None:
    """The posting that undoes ``original`` (same amount, sides swapped)."""
    return post(s, key, original.operation_code, original.currency, original.credit_account,
                original.debit_account, original.amount, kind, value_date,
                original.period_id, note, reverses=original)


def movement(key: str, operation: str, currency: str, direction: str, amount: int,
             source: str, value_date: dt.date) -> PayMovement:
    """The movement :func:`move` would add (not added to any session)."""
    if direction not in ("in", "out") or amount <= 0:
        raise HingeError(f"movement {key}: {direction} {amount}")
    return PayMovement(key=key, operation_code=operation, currency=currency,
                       direction=direction, amount=int(amount), source=source[:120],
                       value_date=value_date)


def move(s: Session, key: str, operation: str, currency: str, direction: str, amount: int,
         source: str, value_date: dt.date) -> None:
    """Record cash in or out of the hinge account (what the bank or a payment file says)."""
    row = movement(key, operation, currency, direction, amount, source, value_date)
    if s.scalar(select(PayMovement.id).where(PayMovement.key == key)) is None:
        s.add(row)
        s.flush()


def balance(s: Session, operation: str, currency: str, account: str,
            period_id: str | None = None, kinds: tuple[str, ...] | None = None) -> int:
    """Debits minus credits of ``account`` (of one period, of some kinds, when given)."""
    signed = case((PayPosting.debit_account == account, PayPosting.amount),
                  else_=-PayPosting.amount)
    q = select(func.coalesce(func.sum(signed), 0)).where(
        PayPosting.operation_code == operation, PayPosting.currency == currency,
        or_(PayPosting.debit_account == account, PayPosting.credit_account == account))
    if period_id is not None:
        q = q.where(PayPosting.period_id == period_id)
    if kinds is not None:
        q = q.where(PayPosting.kind.in_(kinds))
    return int(s.scalar(q))


def agent_balances(s: Session, operation: str, currency: str, period_id: str
                   ) -> dict[str, int]:
    """:func:`balance` of every ``agent:`` account of one period, in two queries."""
    out: dict[str, int] = {}
    for side, sign in ((PayPosting.debit_account, 1), (PayPosting.credit_account, -1)):
        for account, total in s.execute(select(side, func.sum(PayPosting.amount)).where(
                PayPosting.operation_code == operation, PayPosting.currency == currency,
                PayPosting.period_id == period_id, side.like("agent:%")).group_by(side)):
            code = account.removeprefix("agent:")
            out[code] = out.get(code, 0) + sign * int(total)
    return out


def movements_net(s: Session, operation: str, currency: str) -> int:
    """Cash in minus cash out of the hinge account, from the movements alone."""
    rows = s.execute(select(PayMovement.direction, func.sum(PayMovement.amount)).where(
        PayMovement.operation_code == operation, PayMovement.currency == currency
    ).group_by(PayMovement.direction)).all()
    by = {d: int(v) for d, v in rows}
    return by.get("in", 0) - by.get("out", 0)


def check(s: Session, operation: str, currency: str) -> int:
    """The hinge check (see the module): returns the hinge balance or raises HingeError."""
    s.flush()
    hinge = balance(s, operation, currency, HINGE)
    cash = movements_net(s, operation, currency)
    if hinge != cash:
        raise HingeError(f"{operation} {currency}: hinge balance {hinge} != cash in - out "
                         f"{cash} (difference {hinge - cash})")
    if hinge < 0:
        raise HingeError(f"{operation} {currency}: hinge balance {hinge} is negative: paid "
                         "out more than came in")
    periods = s.execute(select(PayPosting.period_id).where(
        PayPosting.operation_code == operation, PayPosting.currency == currency,
        (PayPosting.debit_account == SETTLEMENT) | (PayPosting.credit_account == SETTLEMENT)
    ).distinct()).scalars().all()
    for period_id in periods:
        left = balance(s, operation, currency, SETTLEMENT, period_id)
        if left:
            raise HingeError(f"{operation} {period_id}: dues of agents and airlines differ "
                             f"by {left} (settlement account not zero)")
    return hinge


def hinge_balance(engine: Engine, operation: str, currency: str) -> int:
    from casslink.db.engine import session_scope

    with session_scope(engine) as s:
        return check(s, operation, currency)
