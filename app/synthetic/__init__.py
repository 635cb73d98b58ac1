"""Synthetic billing data for the fixture world: canonical tables, deterministic by seed."""

from casslink.app.synthetic.generator import FAULT_KINDS, GeneratedFile, generate_billing

__all__ = ["FAULT_KINDS", "GeneratedFile", "generate_billing"]
