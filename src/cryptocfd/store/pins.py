"""Mobile PINs, stored as argon2id hashes, with their failed-attempt count and lock."""

from __future__ import annotations

from datetime import datetime

import msgspec

from cryptocfd.store.database import Connection, Db


class PinRow(msgspec.Struct, frozen=True):
    """A user's PIN hash and lock-out state."""

    user_id: int
    pin_hash: str
    failed_attempts: int
    locked_until: datetime | None


async def set_pin(conn: Db, user_id: int, pin_hash: str) -> None:
    """Set or replace a user's PIN; a new PIN starts with no failures and no lock."""
    await conn.execute(
        "INSERT INTO mobile_pins (user_id, pin_hash) VALUES ($1, $2)"
        " ON CONFLICT (user_id) DO UPDATE SET pin_hash = $2, failed_attempts = 0,"
        " locked_until = NULL, updated_at = now()",
        user_id,
        pin_hash,
    )


async def pin_for_update(conn: Connection, user_id: int) -> PinRow | None:
    """The user's PIN row, locked until the transaction ends (attempts are counted exactly)."""
    row = await conn.fetchrow(
        "SELECT user_id, pin_hash, failed_attempts, locked_until FROM mobile_pins"
        " WHERE user_id = $1 FOR UPDATE",
        user_id,
    )
    return None if row is None else PinRow(**dict(row))


async def record_attempt(
    conn: Connection, user_id: int, failed_attempts: int, locked_until: datetime | None
) -> None:
    """Store the failed-attempt count and lock after an attempt."""
    await conn.execute(
        "UPDATE mobile_pins SET failed_attempts = $2, locked_until = $3 WHERE user_id = $1",
        user_id,
        failed_attempts,
        locked_until,
    )


async def remove_pin(conn: Db, user_id: int) -> bool:
    """Remove a user's PIN; true when there was one."""
    result = await conn.execute("DELETE FROM mobile_pins WHERE user_id = $1", user_id)
    return bool(result != "DELETE 0")
