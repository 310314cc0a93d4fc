"""Tokens: what is stored of them, and the signed access token.

Login links, sessions and refresh tokens are random strings from the caller (``secrets``)
and are stored only as their SHA-256, so a copy of the database signs no one in; who asked
for a link is stored as an HMAC under the server key. Access
tokens are short-lived and self-contained: an HMAC-SHA256 over the user, the token family
(so logout can revoke them), the expiry, and when a second factor raised it, if one did.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

LOGIN_TOKEN_TTL_MS = 15 * 60 * 1000
ACCESS_TOKEN_TTL_MS = 15 * 60 * 1000
REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000
SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000
LOGIN_EMAILS_PER_HOUR = 5  # unused links one requester may have out for one address
FRESH_SIGN_IN_MS = 5 * 60 * 1000  # how long a link sign-in counts as fresh (PIN changes)
CONFIRM_TTL_MS = LOGIN_TOKEN_TTL_MS
_VERSION = "v1"


class AccessClaims(msgspec.Struct, frozen=True, array_like=True):
    """Who an access token speaks for, under which revocable family, until when."""

    user_id: int
    family: str
    expires_at_ms: int
    device_id: str | None = None
    signed_in_at_ms: int | None = None  # set when the family began with a sign-in link
    raised_at_ms: int | None = None  # set when a TOTP code raised it (``identity.totp``)


def is_fresh(signed_in_at_ms: int | None, now_ms: int) -> bool:
    """Whether a sign-in by link at ``signed_in_at_ms`` is recent enough to change a PIN."""
    return signed_in_at_ms is not None and 0 <= now_ms - signed_in_at_ms <= FRESH_SIGN_IN_MS


class BadToken(ValueError):  # noqa: N818 - the name is the error clients see
    """A token that is malformed, forged or expired."""


def token_hash(token: str) -> bytes:
    """What is stored of a random token: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


def requester_hash(key: bytes, requester: str) -> bytes:
    """What is stored of who asked for a sign-in link (an IP): its HMAC under the server key,
    so a copy of the database cannot be matched against every IPv4 address (a plain hash
    can: there are only 2^32)."""
    return hmac.new(key, f"requester.{requester}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, f"{_VERSION}.{payload}".encode(), hashlib.sha256).digest())


def sign_access_token(key: bytes, claims: AccessClaims) -> str:
    """An access token carrying ``claims``, signed with ``key``."""
    payload = _b64(msgspec.msgpack.encode(claims))
    return f"{_VERSION}.{payload}.{_signature(key, payload)}"


def verify_access_token(key: bytes, token: str, now_ms: int) -> AccessClaims:
    """The claims of a genuine, unexpired token; raise ``BadToken`` otherwise."""
    version, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if version != _VERSION or not payload or not signature or len(token) > 1024:
        raise BadToken("malformed access token")
    # Bytes, not str: compare_digest refuses non-ASCII text, and headers may carry any byte.
    if not hmac.compare_digest(
        signature.encode(errors="surrogateescape"), _signature(key, payload).encode()
    ):
        raise BadToken("access token signature does not match")
    try:
        claims = msgspec.msgpack.decode(_unb64(payload), type=AccessClaims)
    except (ValueError, msgspec.DecodeError) as exc:
        raise BadToken("malformed access token") from exc
    if claims.expires_at_ms <= now_ms:
        raise BadToken("access token expired")
    return claims


def csrf_token(key: bytes, session_id: str, purpose: str = "csrf") -> str:
    """The CSRF token bound to a browser value (a session id, or the sign-in page's nonce):
    only the server can derive it."""
    return _b64(hmac.new(key, f"{purpose}.{session_id}".encode(), hashlib.sha256).digest())


def csrf_matches(key: bytes, session_id: str, presented: str, purpose: str = "csrf") -> bool:
    """Whether ``presented`` is the value's CSRF token (constant-time)."""
    expected = csrf_token(key, session_id, purpose).encode()
    return hmac.compare_digest(expected, presented.encode(errors="surrogateescape"))
