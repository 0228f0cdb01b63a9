"""Signing in and out, sessions, lockout, password reset, second factor."""
