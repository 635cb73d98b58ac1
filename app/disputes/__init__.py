"""Online corrections and disputes (issue 25): an agent raises one on a billed AWB, the
airline decides, an accepted dispute bills itself as the airline's DCM through the ingest
path. See docs/disputes.md."""
