"""Browser sessions and refresh tokens, stored as hashes, revocable.

Refresh tokens rotate: each use spends the token and issues the next one in the same family.
Presenting a spent token means it was copied, so the whole family is revoked.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from cryptocfd.store.database import Connection, Db


class RefreshGrant(msgspec.Struct, frozen=True):
    """What a spent refresh token was issued for."""

    user_id: int
    family: str
    device_id: str | None


class SessionRow(msgspec.Struct, frozen=True):
    """A live browser session; every session begins with a sign-in link at ``created_at``,
    and a right TOTP code may have raised it to operator strength at ``raised_at``."""

    user_id: int
    created_at: datetime
    raised_at: datetime | None = None


def new_family() -> str:
    """A fresh token family id."""
    return str(uuid.uuid4())


async def add_session(conn: Db, id_hash: bytes, user_id: int, now: datetime, ttl_ms: int) -> None:
    """Record a browser session."""
    await conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        id_hash,
        user_id,
        now,
        now + timedelta(milliseconds=ttl_ms),
    )


async def live_session(conn: Db, id_hash: bytes, now: datetime) -> SessionRow | None:
    """The session with this id hash, if it is neither revoked nor expired."""
    row = await conn.fetchrow(
        "SELECT user_id, created_at, raised_at FROM sessions"
        " WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        id_hash,
        now,
    )
    if row is None:
        return None
    return SessionRow(int(row["user_id"]), row["created_at"], row["raised_at"])


async def raise_session(conn: Db, id_hash: bytes, now: datetime) -> bool:
    """Mark a live session raised to operator strength at ``now``; false if it is not live."""
    raised = await conn.fetchval(
        "UPDATE sessions SET raised_at = $2"
        " WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING true",
        id_hash,
        now,
    )
    return bool(raised)


async def revoke_session(conn: Db, id_hash: bytes) -> None:
    """End a browser session."""
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL",
        id_hash,
    )


async def add_refresh_token(
    conn: Db,
    token_hash: bytes,
    grant: RefreshGrant,
    now: datetime,
    ttl_ms: int,
) -> None:
    """Record a refresh token of ``grant.family``."""
    await conn.execute(
        "INSERT INTO refresh_tokens"
        " (token_hash, family, user_id, device_id, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        token_hash,
        uuid.UUID(grant.family),
        grant.user_id,
        grant.device_id,
        now,
        now + timedelta(milliseconds=ttl_ms),
    )


async def spend_refresh_token(
    conn: Connection, token_hash: bytes, now: datetime
) -> tuple[RefreshGrant | None, str | None]:
    """Spend a refresh token: ``(grant, None)`` when it was live; ``(None, family)`` when it
    had been spent before (the caller revokes that family); ``(None, None)`` otherwise."""
    row = await conn.fetchrow(
        "UPDATE refresh_tokens SET used_at = $2"
        " WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
        " RETURNING user_id, family, device_id",
        token_hash,
        now,
    )
    if row is not None:
        return RefreshGrant(row["user_id"], str(row["family"]), row["device_id"]), None
    reused = await conn.fetchval(
        "SELECT family FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL",
        token_hash,
    )
    return None, None if reused is None else str(reused)


async def revoke_family(conn: Db, family: str) -> None:
    """Revoke every refresh token of a family."""
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
        uuid.UUID(family),
    )


async def device_families(conn: Db, user_id: int) -> list[str]:
    """The live token families a user's PIN sign-ins created (those bound to a device)."""
    rows = await conn.fetch(
        "SELECT DISTINCT family FROM refresh_tokens"
        " WHERE user_id = $1 AND device_id IS NOT NULL AND revoked_at IS NULL",
        user_id,
    )
    return [str(row["family"]) for row in rows]


async def signed_in_device(conn: Db, user_id: int, device_id: str) -> bool:
    """Whether ``device_id`` holds a live PIN sign-in of the user (one of their own devices)."""
    found = await conn.fetchval(
        "SELECT 1 FROM refresh_tokens WHERE user_id = $1 AND device_id = $2"
        " AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now() LIMIT 1",
        user_id,
        device_id,
    )
    return found is not None
