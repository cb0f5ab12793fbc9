"""Unit tests of the simulator toolkit (no sockets)."""
