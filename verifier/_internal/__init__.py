"""Helpers that are not public API (no stability promise)."""
