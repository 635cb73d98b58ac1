"""The ``casslink`` command line (typer)."""
