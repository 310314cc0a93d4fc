"""Operator roles in PostgreSQL: granted and revoked by the command line alone, each change
audited in its own transaction (``store.audit``)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from cryptocfd.identity.roles import Role
from cryptocfd.store.database import Db


class Staff(msgspec.Struct, frozen=True):
    """A user as the back office sees them: their address and roles (empty for a trader)."""

    user_id: int
    email: str
    roles: frozenset[Role]


async def staff_by_id(db: Db, user_id: int) -> Staff | None:
    """The user ``user_id`` with their roles, in one query; ``None`` if there is none."""
    row = await db.fetchrow(
        "SELECT u.email, coalesce(array_agg(r.role) FILTER (WHERE r.role IS NOT NULL), '{}')"
        " AS roles FROM users u LEFT JOIN user_roles r ON r.user_id = u.id"
        " WHERE u.id = $1 GROUP BY u.email",
        user_id,
    )
    if row is None:
        return None
    return Staff(user_id, row["email"], frozenset(Role(role) for role in row["roles"]))


async def roles_of(db: Db, user_id: int) -> frozenset[Role]:
    """The roles ``user_id`` holds (empty for a trader or an unknown user)."""
    rows = await db.fetch("SELECT role FROM user_roles WHERE user_id = $1", user_id)
    return frozenset(Role(row["role"]) for row in rows)


async def grant_role(db: Db, user_id: int, role: Role, now: datetime) -> bool:
    """Give ``user_id`` the ``role``; true when they did not hold it already."""
    granted = await db.fetchval(
        "INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        user_id,
        role.value,
        now,
    )
    return bool(granted)


async def revoke_role(db: Db, user_id: int, role: Role) -> bool:
    """Take the ``role`` from ``user_id``; true when they held it."""
    result = await db.execute(
        "DELETE FROM user_roles WHERE user_id = $1 AND role = $2", user_id, role.value
    )
    return bool(result != "DELETE 0")
