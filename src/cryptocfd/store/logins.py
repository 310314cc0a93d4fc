"""Single-use sign-in links, stored as token hashes."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptocfd.store.database import Connection, Db


async def unused_links_from(conn: Connection, email: str, requester: bytes, now: datetime) -> int:
    """How many links ``requester`` asked for ``email`` in the hour before ``now`` that were
    never used. Only these count against the address: a used link proves the requester is the
    owner, and other requesters' links never use up the owner's share."""
    count = await conn.fetchval(
        "SELECT count(*) FROM login_tokens"
        " WHERE email = $1 AND requester = $2 AND created_at > $3 AND used_at IS NULL",
        email,
        requester,
        now - timedelta(hours=1),
    )
    return int(count)


async def add_login_token(
    conn: Connection, token_hash: bytes, email: str, requester: bytes, now: datetime, ttl_ms: int
) -> None:
    """Record a sign-in link's token hash, and who asked for it, valid for ``ttl_ms``."""
    await conn.execute(
        "INSERT INTO login_tokens (token_hash, email, requester, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        email,
        requester,
        now,
        now + timedelta(milliseconds=ttl_ms),
    )


async def live_login_email(conn: Db, token_hash: bytes, now: datetime) -> str | None:
    """The email a sign-in link is for while it is unused and unexpired; it is not spent."""
    email: str | None = await conn.fetchval(
        "SELECT email FROM login_tokens"
        " WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        token_hash,
        now,
    )
    return email


async def use_login_token(conn: Db, token_hash: bytes, now: datetime) -> str | None:
    """Spend a sign-in link: the email it was for, or ``None`` when it is unknown, already
    used or expired. One statement, so two clicks racing cannot both sign in."""
    email: str | None = await conn.fetchval(
        "UPDATE login_tokens SET used_at = $2"
        " WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING email",
        token_hash,
        now,
    )
    return email
