"""Subsystems and requests for access to them."""
