"""casslink: the shared vocabulary of the pipeline (money, identifiers, reference data, storage).

Stage packages (``parsers``, ``validators``, ``settlement``, ``outputs``, ``sftp_gateway``) speak
to each other only through what this package defines.
"""

from casslink.memory import ordinary_pages

__version__ = "0.1.0"

ordinary_pages()  # every casslink process: large arrays without THP (see casslink.memory)
