"""Medical institutions: the reference list, its import and search."""
