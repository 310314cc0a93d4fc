"""API keys and the signed requests made with them, as rules with no I/O.

A key is a public ``api_key`` and what signs with it: a ``secret`` shown to its owner once (an
HMAC key), or an Ed25519 key pair whose public half the owner uploads (``identity.public_keys``;
the server holds no secret at all). A request signed with it carries ``X-CFD-API-KEY``,
``X-CFD-TIMESTAMP`` (unix milliseconds), ``X-CFD-RECV-WINDOW`` (milliseconds, default 5000, at
most 60000) and ``X-CFD-SIGNATURE``, made over ``timestamp + api_key + recv_window + payload``,
each as sent (``recv_window`` is the empty string when its header is omitted), the payload being
the raw query string of a GET or DELETE and the raw body of a POST: the lowercase hex
HMAC-SHA256 of that string keyed with the secret's text, or the base64 Ed25519 signature of it.
The conventions are Bybit's and Binance's, so a bot's signing code carries over.

Only the signature's check differs between the two kinds (a ``Verifier``); every other rule is
the same for both.

It is accepted only while ``server_time - recv_window <= timestamp < server_time + 1000``: a
request signed too long ago, or ahead of the server's clock by more than a second, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import msgspec

HEADER_KEY = "x-cfd-api-key"
HEADER_TIMESTAMP = "x-cfd-timestamp"
HEADER_RECV_WINDOW = "x-cfd-recv-window"
HEADER_SIGNATURE = "x-cfd-signature"

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
AHEAD_MS = 1_000  # how far ahead of the server's clock a timestamp may be
CLOCK_SKEW_MS = 10_000
"""How far apart two gateways' clocks may be. A used signature stays marked this much longer
than its window, so a gateway whose clock is behind cannot accept it again in what it still
takes for the window."""
MAX_KEYS_PER_USER = 20
API_KEY_PREFIX = "cfd_"


class Scope(StrEnum):
    """What a key may do. No scope moves money: deposits and withdrawals are never signed."""

    READ = "read"
    TRADE = "trade"


class KeyKind(StrEnum):
    """How a key signs: HMAC-SHA256 with a secret the server keeps sealed, or Ed25519 with a
    private key only its owner holds."""

    HMAC = "hmac"
    ED25519 = "ed25519"


class Signed(msgspec.Struct, frozen=True):
    """A signed request's credential, as its headers and payload arrived, and the client's
    address it came from (for the key's allowlist)."""

    api_key: str
    timestamp: str
    recv_window: str | None
    signature: str
    payload: bytes
    client_ip: str = ""


class SignatureRefused(ValueError):  # noqa: N818 - the code is what clients see
    """A signed request refused before its key was looked at, or by its signature."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Verifier(Protocol):
    """What checks the signature of a request signed with one key."""

    @property
    def kind(self) -> KeyKind:
        """The key's kind."""
        ...

    def matches(self, signed: Signed) -> bool:
        """Whether ``signed`` carries this key's signature of what it covers."""
        ...


@dataclass(frozen=True, slots=True)
class HmacVerifier:
    """What checks the signatures of an HMAC key: its secret."""

    secret: str
    kind = KeyKind.HMAC

    def matches(self, signed: Signed) -> bool:
        """Whether ``signed`` carries its signature under the secret."""
        return signature_matches(self.secret, signed)


def new_api_key() -> str:
    """A fresh ``api_key``: 128 bits from the system's randomness."""
    return API_KEY_PREFIX + secrets.token_hex(16)


def new_key() -> tuple[str, str]:
    """A fresh ``(api_key, secret)``: 128 and 256 bits from the system's randomness."""
    return new_api_key(), secrets.token_hex(32)


def signing_string(signed: Signed) -> bytes:
    """What the signature covers."""
    head = f"{signed.timestamp}{signed.api_key}{signed.recv_window or ''}"
    return head.encode() + signed.payload


def signature(secret: str, signed: Signed) -> str:
    """The signature of ``signed`` under ``secret``, as a client computes it."""
    return hmac.new(secret.encode(), signing_string(signed), hashlib.sha256).hexdigest()


def signature_matches(secret: str, signed: Signed) -> bool:
    """Whether ``signed`` carries its signature under ``secret`` (compared in constant time).

    Compared as bytes: ``compare_digest`` raises on a ``str`` that is not ASCII, and a header
    or a websocket message may carry any text."""
    given = signed.signature.lower()
    if not given.isascii():
        return False
    return hmac.compare_digest(signature(secret, signed).encode(), given.encode())


def check_window(signed: Signed, now_ms: int) -> int:
    """The request's window in milliseconds, if its timestamp is inside it at ``now_ms``;
    else ``SignatureRefused``: ``TIMESTAMP_OUTSIDE_RECV_WINDOW``, or ``BAD_SIGNATURE`` for a
    header that is not a whole number of milliseconds in bounds (nothing signed is usable)."""
    window = DEFAULT_RECV_WINDOW_MS if signed.recv_window is None else _ms(signed.recv_window)
    if window is None or not 0 < window <= MAX_RECV_WINDOW_MS:
        raise SignatureRefused(
            "BAD_SIGNATURE", f"X-CFD-RECV-WINDOW: milliseconds, 1 to {MAX_RECV_WINDOW_MS}"
        )
    timestamp = _ms(signed.timestamp)
    if timestamp is None:
        raise SignatureRefused("BAD_SIGNATURE", "X-CFD-TIMESTAMP: unix milliseconds")
    if not now_ms - window <= timestamp < now_ms + AHEAD_MS:
        raise SignatureRefused(
            "TIMESTAMP_OUTSIDE_RECV_WINDOW",
            f"timestamp {timestamp} is outside {window} ms before server time {now_ms} "
            f"(or {AHEAD_MS} ms after it): sync with GET /api/v1/time",
        )
    return window


def _ms(text: str) -> int | None:
    # ASCII digits only: int() would take "+5", " 5", "5_000" and other digits of Unicode.
    if not 0 < len(text) <= 16 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def replay_key(signed: Signed) -> str:
    """What marks a signed request as used: the hash of what its signature covers, not of the
    signature's text. One signed string has one signature under either kind of key, but the
    text can be respelled (hex in another case, base64 with other unused bits), so a replay
    keyed on the text could pass as new."""
    return hashlib.sha256(signing_string(signed)).hexdigest()
