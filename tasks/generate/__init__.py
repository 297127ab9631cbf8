"""Generation backends behind one protocol, chosen at the composition root (CLI / flow parameters)."""
