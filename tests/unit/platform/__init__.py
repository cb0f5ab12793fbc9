"""Unit tests of shared/platform."""
