"""Entra ID simulator: discovery document and client-credentials token endpoint over HTTPS.

``EntraSimulator`` (``simulators.entra.app``) is the service; ``simulators.entra.tokens.validate`` is what
other simulators call to accept its tokens.
"""
