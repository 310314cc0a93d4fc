"""Users: one row per sign-in email. A user's trading account id is the user's id."""

from __future__ import annotations

import msgspec

from cryptocfd.store.database import Connection, Db


class User(msgspec.Struct, frozen=True):
    """A signed-up trader."""

    id: int
    email: str


async def user_by_id(conn: Db, user_id: int) -> User | None:
    """The user with ``user_id``, if any."""
    row = await conn.fetchrow("SELECT id, email FROM users WHERE id = $1", user_id)
    return None if row is None else User(row["id"], row["email"])


async def user_by_email(conn: Db, email: str) -> User | None:
    """The user signed up with ``email`` (already normalized), if any."""
    row = await conn.fetchrow("SELECT id, email FROM users WHERE email = $1", email)
    return None if row is None else User(row["id"], row["email"])


async def get_or_create_user(conn: Connection, email: str) -> tuple[User, bool]:
    """The user for ``email``, created on first sign-in; the flag says it was just created."""
    row = await conn.fetchrow(
        "INSERT INTO users (email) VALUES ($1) ON CONFLICT (email) DO NOTHING RETURNING id",
        email,
    )
    if row is not None:
        return User(row["id"], email), True
    existing = await user_by_email(conn, email)
    assert existing is not None  # the conflict proves it exists; users are never deleted
    return existing, False
