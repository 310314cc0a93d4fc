"""Values kept sealed at rest: AES-256-GCM under a key derived from the server key for one
purpose, bound to associated data (whom or what the value belongs to), so a row copied to
another one, or a copy of the database without the server key, opens nothing."""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class Unsealable(ValueError):  # noqa: N818 - says what the value is
    """A sealed value that does not open with this key and associated data."""


class Sealer:
    """Seals and opens values for one ``purpose`` (the HKDF info, e.g. ``b"... outbox v1"``)."""

    def __init__(self, server_key: bytes, purpose: bytes) -> None:
        derived = HKDF(hashes.SHA256(), length=32, salt=None, info=purpose).derive(server_key)
        self._aead = AESGCM(derived)

    def seal(self, value: bytes, bound_to: bytes) -> bytes:
        """``value`` encrypted under a fresh nonce, bound to ``bound_to``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value, bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> bytes:
        """The value ``seal`` sealed with ``bound_to``; ``Unsealable`` otherwise."""
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, bound_to)
        except InvalidTag as exc:
            raise Unsealable("the value does not open with this server key") from exc
