"""Scheduled work: the daily jobs `flask worker` runs, each once per day across all workers."""
