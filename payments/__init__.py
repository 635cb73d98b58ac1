"""Payments: collect each agent's remittance into the operation's hinge account and pay the
airlines from cleared funds (cass-business.md §4; docs/payments.md).

Stage order: settlement writes a period's ledger; :mod:`.dues` posts what it says is owed into
the double-entry payment ledger (:mod:`.ledger`); :mod:`.collect` writes the pain.008 direct
debits (:mod:`.pain`); :mod:`.statements` imports camt.053/camt.054 (and pain.002 rejections,
:mod:`.status_report`) and matches each entry;
:mod:`.payouts` pays airlines, tax authorities and agents owed a credit from cleared funds;
:mod:`.defaults` runs the irregularity → default state machine.
"""
