"""casslink: the shared vocabulary of the pipeline (money, identifiers, reference data, storage).

Importing it does nothing else: allocator tuning is an entry point's choice
(:func:`casslink.memory.tune`).
"""

__version__ = "0.1.0"
