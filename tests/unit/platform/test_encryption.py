"""AES-256-GCM sealing: fresh nonces, bound to its associated data."""

from __future__ import annotations

import pytest

from shared.platform.encryption import Cipher, DecryptionError

KEY = bytes(range(32))


def test_same_plaintext_never_seals_the_same_way() -> None:
    """Every seal uses a fresh nonce: 100 seals of one token are all different."""
    cipher = Cipher(KEY)
    sealed = {cipher.encrypt(b"token", b"row") for _ in range(100)}
    assert len(sealed) == 100
    assert len({s[:12] for s in sealed}) == 100


def test_round_trip_and_binding() -> None:
    """A seal opens with its associated data and key only."""
    sealed = Cipher(KEY).encrypt(b"token", b"row")
    assert Cipher(KEY).decrypt(sealed, b"row") == b"token"
    with pytest.raises(DecryptionError):
        Cipher(KEY).decrypt(sealed, b"other-row")
    with pytest.raises(DecryptionError):
        Cipher(bytes(32)).decrypt(sealed, b"row")
    with pytest.raises(DecryptionError):
        Cipher(KEY).decrypt(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"row")


def test_key_must_be_256_bits() -> None:
    """A short key is refused up front."""
    with pytest.raises(ValueError, match="32-byte"):
        Cipher(bytes(16))
