"""casslink: one package in layers (ARCHITECTURE.md).

The modules directly in it are the vocabulary every layer shares: settings, money, identifiers,
the canonical model, reference data, storage, the registry and warehouse, the database. The
stages (``casslink.parsers``, ``.validators``, ``.settlement``, ``.outputs``), the SFTP gateway
(``casslink.sftp_gateway``) and the app layer (``casslink.app``) are its sub-packages; the
vocabulary imports none of them.

Importing it does nothing else: allocator tuning is an entry point's choice
(:func:`casslink.memory.tune`).
"""

__version__ = "0.1.0"
