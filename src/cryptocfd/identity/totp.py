"""The operator's second factor: TOTP (RFC 6238) as authenticator apps speak it, with ``pyotp``.

Six digits from HMAC-SHA1 over 30-second steps. A code is accepted for its own step and one
either side (clocks drift), and only for a step after the last one accepted (RFC 6238 §5.2:
a code seen once, by a shoulder or a proxy, opens nothing). The time is the caller's: nothing
here reads a clock. A right code raises a session or token to operator strength for
``RAISED_TTL_MS`` (a working shift; a token's own expiry comes first).
"""

from __future__ import annotations

import hmac

import pyotp

ISSUER = "CryptoCFD"
STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1  # steps accepted either side of the current one
CODE_PATTERN = r"^[0-9]{6}$"
RAISED_TTL_MS = 8 * 60 * 60 * 1000


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def otpauth_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    return totp.provisioning_uri(name=email, issuer_name=ISSUER)


def step_at(now_ms: int) -> int:
    """The time step ``now_ms`` falls in."""
    return now_ms // 1000 // STEP_S


def matching_step(secret: str, code: str, now_ms: int) -> int | None:
    """The step within the drift window whose code ``code`` is, or ``None`` for a wrong code.

    Every step in the window is computed and compared in constant time, so how long a check
    takes says nothing of which step (if any) matched."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = step_at(now_ms)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            found = step
    return found


def is_raised(raised_at_ms: int | None, now_ms: int) -> bool:
    """Whether a session or token raised by a right code at ``raised_at_ms`` still is."""
    return raised_at_ms is not None and 0 <= now_ms - raised_at_ms < RAISED_TTL_MS
