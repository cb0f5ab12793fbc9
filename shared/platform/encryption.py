"""Authenticated encryption of small secrets at rest (cached tokens), with AES-256-GCM."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12  # the GCM standard nonce size


class DecryptionError(ValueError):
    """A ciphertext was tampered with, belongs to another record, or was made with another key."""


class Cipher:
    """Encrypts and decrypts with one 256-bit key; the associated data binds a ciphertext to its record."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Nonce followed by ciphertext and tag; a fresh random nonce every time."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, sealed: bytes, associated_data: bytes) -> bytes:
        """The plaintext of ``sealed``; raises DecryptionError if it does not authenticate."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated_data)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("ciphertext does not authenticate with this key and record") from exc
