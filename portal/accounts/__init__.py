"""Personal accounts."""
