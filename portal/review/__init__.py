"""Help-desk review (紙本審核) of manager applications verified on paper."""
