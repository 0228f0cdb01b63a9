"""Taiwan's government work calendar, with the portal's own closure overrides."""
