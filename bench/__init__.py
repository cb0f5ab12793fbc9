"""Benchmarks that print figures side by side with a baseline (not tests)."""
