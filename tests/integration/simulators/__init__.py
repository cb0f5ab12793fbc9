"""Simulators over real loopback sockets."""
