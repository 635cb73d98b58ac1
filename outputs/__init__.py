"""Outputs of a settlement run, rendered from its ledger and delivered to outboxes."""
