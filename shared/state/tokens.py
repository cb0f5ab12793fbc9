"""The token cache: API tokens kept between invocations, encrypted at rest with AES-256-GCM.

Implements ``shared.platform.tokens.TokenCache``. The row name and the expiry are the associated data,
so a ciphertext copied onto another row, or an expiry pushed later, does not decrypt; a row that does not
decrypt (tampered, corrupted, or written under a rotated key) is treated as a cache miss and the token is
simply fetched again. So is a row that cannot be read at all (an ``ExpiresAt`` of another type, a missing
column, say after an edit in Storage Explorer): the next ``put`` overwrites it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime

from shared.platform.encryption import Cipher, DecryptionError
from shared.platform.tokens import AccessToken
from shared.state.keys import encode_key
from shared.state.tables import StateTables, get_entity

_PARTITION = "token"
log = logging.getLogger(__name__)


def _associated_data(name: str, expires_at: datetime) -> bytes:
    # Binds the ciphertext to its row and its expiry: neither can be swapped without failing decryption.
    return f"{name}|{expires_at.astimezone(UTC).isoformat()}".encode()


class EncryptedTokenCache:
    """Table Storage token cache with encrypted token values."""

    TABLE = "tokens"

    def __init__(self, tables: StateTables, cipher: Cipher) -> None:
        self._table = tables.table(self.TABLE)
        self._cipher = cipher

    def get(self, name: str) -> AccessToken | None:
        """The cached token under ``name``, or None (absent or unreadable)."""
        row = get_entity(self._table, _PARTITION, encode_key(name))
        if row is None:
            return None
        try:
            expires_at = row["ExpiresAt"]
            if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
                raise TypeError(f"ExpiresAt is {type(expires_at).__name__}, not a timezone-aware datetime")
            sealed = base64.b64decode(row["Sealed"], validate=True)
            token = self._cipher.decrypt(sealed, _associated_data(name, expires_at)).decode()
        except (DecryptionError, binascii.Error, KeyError, TypeError, ValueError) as exc:
            # Any unreadable row is a miss: the token is fetched again and put() overwrites the row.
            log.warning("cached token %s is unreadable (%s); ignoring it", name, type(exc).__name__)
            return None
        return AccessToken(token, expires_at)

    def put(self, name: str, token: AccessToken) -> None:
        """Store ``token`` under ``name``, encrypted."""
        sealed = self._cipher.encrypt(token.token.encode(), _associated_data(name, token.expires_at))
        self._table.upsert_entity(
            {
                "PartitionKey": _PARTITION,
                "RowKey": encode_key(name),
                "Sealed": base64.b64encode(sealed).decode(),
                "ExpiresAt": token.expires_at,
            }
        )
