"""The output formats and the files each participant kind receives: plain constants, cheap to
import (a DAG file imports them at parse time)."""

FORMATS = ("hot", "xlsx", "xml")
INVOICE_FORMATS = ("pdf", "ubl")
"""The legal invoices' files (issue 26): PDF/A-3 with the CII XML, UBL 2.1 XML."""
OUTPUTS = FORMATS + INVOICE_FORMATS
"""Everything a participant can choose in its settings (``participants.output_formats``)."""
KINDS = ("airline", "agent")
FILES = {  # (participant kind, format): file label, extension
    ("airline", "hot"): ("handoff", "hot"), ("airline", "xlsx"): ("settlement", "xlsx"),
    ("airline", "xml"): ("settlement", "xml"), ("agent", "hot"): ("billing", "hot"),
    ("agent", "xlsx"): ("statement", "xlsx"), ("agent", "xml"): ("statement", "xml"),
}
KEYS = {"airline": "airline_prefix", "agent": "agent_code"}  # each kind's participant column
