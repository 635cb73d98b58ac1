"""Validation: a catalogue of rules with stable codes over the canonical tables, a per-file
verdict, acknowledgements, and the ingest path (parse, validate, store, acknowledge, file away)."""
