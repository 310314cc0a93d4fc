"""TOTP secrets in PostgreSQL, sealed under the server key and bound to their user
(``store.sealing``): a code needs the secret itself, so it cannot be stored as a hash, and a
copy of the database without the server key computes no code.

A secret is pending until a first right code verifies it; only then is it final, and a second
setup is refused. The newest step a code was accepted for is kept beside it, and accepting a
code moves it forward in one conditional update, so two requests with one code cannot both
pass (``claim_step``).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from cryptocfd.store.database import Db
from cryptocfd.store.sealing import Sealer

_SEAL_PURPOSE = b"cryptocfd totp secret v1"


class TotpSecret(msgspec.Struct, frozen=True):
    """A user's second factor, opened: its secret and whether a right code has verified it."""

    secret: str
    verified: bool


def sealer(server_key: bytes) -> Sealer:
    """What seals and opens this installation's TOTP secrets."""
    return Sealer(server_key, _SEAL_PURPOSE)


def _bound(user_id: int) -> bytes:
    return f"user:{user_id}".encode()


async def store_pending_secret(
    db: Db, seal: Sealer, user_id: int, secret: str, now: datetime
) -> bool:
    """Keep ``secret`` as ``user_id``'s pending second factor (replacing a pending one); false
    when a verified one is there already, which stays as it is."""
    stored = await db.fetchval(
        "INSERT INTO totp_secrets (user_id, sealed_secret, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO UPDATE SET sealed_secret = $2, created_at = $3,"
        " last_step = NULL WHERE totp_secrets.verified_at IS NULL RETURNING true",
        user_id,
        seal.seal(secret.encode(), _bound(user_id)),
        now,
    )
    return bool(stored)


async def totp_secret_of(db: Db, seal: Sealer, user_id: int) -> TotpSecret | None:
    """``user_id``'s second factor, opened; ``None`` before any setup."""
    row = await db.fetchrow(
        "SELECT sealed_secret, verified_at FROM totp_secrets WHERE user_id = $1", user_id
    )
    if row is None:
        return None
    secret = seal.open(bytes(row["sealed_secret"]), _bound(user_id)).decode()
    return TotpSecret(secret, row["verified_at"] is not None)


async def claim_step(db: Db, user_id: int, step: int, now: datetime) -> bool:
    """Accept a code of ``step`` (verifying a pending secret); false when a code of this step
    or a later one was accepted before (a replay)."""
    claimed = await db.fetchval(
        "UPDATE totp_secrets SET last_step = $2, verified_at = coalesce(verified_at, $3)"
        " WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2) RETURNING true",
        user_id,
        step,
        now,
    )
    return bool(claimed)
