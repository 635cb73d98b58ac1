"""A dispute's statuses and the only transitions allowed between them."""

from __future__ import annotations

RAISED, ACCEPTED, PARTLY_ACCEPTED = "RAISED", "ACCEPTED", "PARTLY_ACCEPTED"
REJECTED, ESCALATED, WITHDRAWN, ADJUSTED = "REJECTED", "ESCALATED", "WITHDRAWN", "ADJUSTED"
STATUSES = (RAISED, ACCEPTED, PARTLY_ACCEPTED, REJECTED, ESCALATED, WITHDRAWN, ADJUSTED)
LABELS = {RAISED: "Raised", ACCEPTED: "Accepted in full", PARTLY_ACCEPTED: "Partly accepted",
          REJECTED: "Rejected", ESCALATED: "Escalated", WITHDRAWN: "Withdrawn",
          ADJUSTED: "Adjusted"}
"""What people read for each status: English message ids of the ``disputes`` catalog (the
portal's pages and the dispute report show them in the reader's language)."""
ACTIONS = {"raised": "Raised", "accepted": "Acceptance", "rejected": "Rejected",
           "withdrawn": "Withdrawn", "escalated": "Escalated", "comment": "Comment",
           "attached": "Attachment added", "adjustment-landed": "CCA/DCM generated",
           "adjusted": "CCA/DCM billed", "adjustment-rejected": "CCA/DCM rejected by the rules",
           "airline-correction": "The airline's own CCA/DCM"}
"""The history's events (``dispute_events.action``) as people read them (message ids)."""

TRANSITIONS: dict[str, frozenset[str]] = {
    RAISED: frozenset({ACCEPTED, PARTLY_ACCEPTED, REJECTED, ESCALATED, WITHDRAWN}),
    # an escalated dispute is decided by an operator (or withdrawn by the agent)
    ESCALATED: frozenset({ACCEPTED, PARTLY_ACCEPTED, REJECTED, WITHDRAWN}),
    ACCEPTED: frozenset({ADJUSTED}),
    PARTLY_ACCEPTED: frozenset({ADJUSTED}),
}
"""Every allowed (from -> to); anything else is refused. REJECTED, WITHDRAWN and ADJUSTED
are final."""

OPEN = (RAISED, ESCALATED)
"""Undecided: what ``withhold_disputed`` keeps out of the remittance."""


class IllegalTransition(ValueError):
    """The dispute's status does not allow that step."""


def check(current: str, wanted: str, dispute_id: int) -> None:
    """Raise IllegalTransition unless ``current -> wanted`` is allowed."""
    if wanted not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"dispute {dispute_id} is {current}: it cannot become {wanted}")
