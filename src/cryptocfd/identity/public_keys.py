"""Ed25519 public keys a user uploads for an API key, and the signatures made with them.

A key arrives as PEM (``-----BEGIN PUBLIC KEY-----``, SubjectPublicKeyInfo, what Binance takes
and ``openssl pkey -pubout`` prints) or as the standard base64 of its raw 32 bytes (RFC 8032,
what libsodium and most Ed25519 libraries hand out). It is kept as those 32 bytes.

A key is refused unless it is a canonical encoding of a point of the curve that is not of
small order. The last matters: ``cryptography`` (OpenSSL) verifies against whatever key it is
given, and with a small-order key, the identity point say, anyone can make a signature that
holds for every message: such a key would let anyone sign for its owner.

A signature is the standard base64 (with its padding) of the 64 signature bytes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from cryptocfd.identity.apikeys import KeyKind, Signed, signing_string

RAW_BYTES = 32
SIGNATURE_BYTES = 64
PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
PEM_END = "-----END PUBLIC KEY-----"

_P = 2**255 - 19  # the field of edwards25519
_D = -121665 * pow(121666, -1, _P) % _P  # its curve: -x^2 + y^2 = 1 + d x^2 y^2
_Y_BITS = (1 << 255) - 1  # the top bit of the encoding is the sign of x
# The y of every point of order 1, 2, 4 and 8 (the points whose multiples by 8 are the
# identity): 1, -1, 0, and the two of the order-8 points (they sum to p). libsodium refuses the
# same keys ("has_small_order").
_Y_ORDER_8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022
SMALL_ORDER_Y = frozenset({1, _P - 1, 0, _Y_ORDER_8, _P - _Y_ORDER_8})


class InvalidPublicKey(ValueError):  # noqa: N818 - says what the text is
    """Text that is not an Ed25519 public key this server accepts."""


def parse_public_key(text: str) -> bytes:
    """The raw 32 bytes of the Ed25519 public key ``text`` (PEM or base64), or
    ``InvalidPublicKey`` saying what is wrong with it."""
    text = text.strip()
    raw = _from_pem(text) if text.startswith(PEM_BEGIN) else _from_base64(text)
    check_point(raw)
    return raw


def _from_pem(text: str) -> bytes:
    if not text.endswith(PEM_END) or text.count(PEM_BEGIN) != 1:
        raise InvalidPublicKey("public_key: one PEM block, BEGIN PUBLIC KEY to END PUBLIC KEY")
    try:
        key = load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidPublicKey("public_key: not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidPublicKey("public_key: the PEM holds a key that is not Ed25519")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _from_base64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPublicKey("public_key: PEM or the base64 of 32 raw bytes") from exc
    if len(raw) != RAW_BYTES or base64.b64encode(raw).decode() != text:
        raise InvalidPublicKey("public_key: PEM or the base64 of 32 raw bytes")
    return raw


def check_point(raw: bytes) -> None:
    """``InvalidPublicKey`` unless ``raw`` is the canonical encoding of a curve point of large
    order (RFC 8032 5.1.3: y below p, and a square root for x)."""
    y = int.from_bytes(raw, "little") & _Y_BITS
    if y >= _P:
        raise InvalidPublicKey("public_key: not a canonical Ed25519 point encoding")
    if y in SMALL_ORDER_Y:
        raise InvalidPublicKey("public_key: a point of small order: anyone could sign for it")
    # x^2 = (y^2 - 1) / (d y^2 + 1) must be a square mod p (Euler's criterion); it is not 0,
    # since y is neither 1 nor -1.
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    if pow(x2, (_P - 1) // 2, _P) != 1:
        raise InvalidPublicKey("public_key: not a point of the Ed25519 curve")


def signature_holds(key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is ``key``'s over ``message``; text that is not the
    base64 of 64 bytes does not hold."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != SIGNATURE_BYTES:
        return False
    try:
        key.verify(raw, message)
    except InvalidSignature:
        return False
    return True


class Ed25519Verifier:
    """What checks the signatures of an Ed25519 key (``apikeys.Verifier``): its public key,
    loaded once."""

    kind = KeyKind.ED25519
    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(raw)

    def matches(self, signed: Signed) -> bool:
        """Whether ``signed`` carries this key's signature of what it covers."""
        return signature_holds(self._key, signing_string(signed), signed.signature)
