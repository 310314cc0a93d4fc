"""Mobile PINs, stored as argon2id hashes (lock-outs are per address and device, in Redis:
``cryptocfd.gateway.pinlock``)."""

from __future__ import annotations

from cryptocfd.store.database import Db


async def set_pin(conn: Db, user_id: int, pin_hash: str) -> bool:
    """Set or replace a user's PIN; true when it replaced one."""
    replaced: bool = await conn.fetchval(
        "INSERT INTO mobile_pins (user_id, pin_hash) VALUES ($1, $2)"
        " ON CONFLICT (user_id) DO UPDATE SET pin_hash = $2, updated_at = now()"
        " RETURNING xmax <> 0",
        user_id,
        pin_hash,
    )
    return replaced


async def pin_hash_of(conn: Db, user_id: int) -> str | None:
    """The user's PIN hash, if they have a PIN."""
    pin_hash: str | None = await conn.fetchval(
        "SELECT pin_hash FROM mobile_pins WHERE user_id = $1", user_id
    )
    return pin_hash


async def remove_pin(conn: Db, user_id: int) -> bool:
    """Remove a user's PIN; true when there was one."""
    result = await conn.execute("DELETE FROM mobile_pins WHERE user_id = $1", user_id)
    return bool(result != "DELETE 0")
