"""casslink: the shared vocabulary of the pipeline (money, identifiers, reference data, storage).

Stage packages (``parsers``, ``validators``, ``settlement``, ``outputs``, ``sftp_gateway``) speak
to each other only through what this package defines.
"""

from casslink.memory import ordinary_pages, system_allocator

__version__ = "0.1.0"

ordinary_pages()  # every casslink process: large arrays without THP, Arrow on the C
system_allocator()  # library's allocator (see casslink.memory)
