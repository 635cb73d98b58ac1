"""Settlement: the ledger of an (operation, period) - bills, netting, conservation."""
