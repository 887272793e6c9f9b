"""Metering receivers (filled in below)."""
