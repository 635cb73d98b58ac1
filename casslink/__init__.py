"""casslink: the shared vocabulary of the pipeline (money, identifiers, reference data, storage).

Stage packages (``parsers``, ``validators``, ``settlement``, ``outputs``, ``sftp_gateway``) speak
to each other only through what this package defines.
"""

__version__ = "0.1.0"
