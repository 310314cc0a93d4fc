"""``cryptocfd admin grant|revoke EMAIL ROLE``: the only way a user gets or loses a back-office
role. Each change is audited in its own transaction, the command line as its actor
(``cli:<os user>``); granting a role held already, or revoking one not held, changes nothing
and appends nothing.
"""

from __future__ import annotations

import os
import pwd

import asyncpg

from cryptocfd.core.clock import WALL, now_utc
from cryptocfd.identity.emails import normalize_email
from cryptocfd.identity.roles import Role
from cryptocfd.store.audit import CLI_ACTOR_PREFIX, AuditEntry, append
from cryptocfd.store.database import Connection, asyncpg_dsn
from cryptocfd.store.roles import grant_role, revoke_role, roles_of
from cryptocfd.store.users import user_by_email

GRANT = "role.grant"
REVOKE = "role.revoke"


class NoSuchUser(LookupError):  # noqa: N818 - says what is missing
    """No user signed up with the address: they sign in once first (exit code 3)."""

    exit_code = 3


def cli_actor() -> str:
    """Who the audit trail says acted on the command line: the OS user running it, by the
    process's uid (``USER`` and ``LOGNAME`` are whatever the caller sets them to)."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # no name for this uid (a bare container)
        name = f"uid:{uid}"
    return f"{CLI_ACTOR_PREFIX}{name}"


async def change_role(database_url: str, email: str, role: Role, *, grant: bool) -> str:
    """Grant or revoke ``role`` for the user signed up with ``email``; what was done, for the
    terminal. ``InvalidEmail`` for a malformed address, ``NoSuchUser`` for an unknown one."""
    address = normalize_email(email)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with conn.transaction():
            user = await user_by_email(conn, address)
            if user is None:
                raise NoSuchUser(f"no user signed up with {address}: they sign in once first")
            after = await _change(conn, user.id, role, grant=grant)
    finally:
        await conn.close()
    if after is None:
        held = "has" if grant else "does not have"
        return f"{address} {held} the {role} role already; nothing changed"
    done = "granted to" if grant else "revoked from"
    return f"the {role} role {done} {address}; roles now: {', '.join(after) or 'none'}"


async def _change(conn: Connection, user_id: int, role: Role, *, grant: bool) -> list[str] | None:
    """Make the change and its audit entry in ``conn``'s transaction; the roles after it, or
    ``None`` when there was nothing to change."""
    # The row lock orders concurrent changes of one user, so before and after are exact.
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
    before = sorted(held.value for held in await roles_of(conn, user_id))
    now = now_utc(WALL)
    if grant:
        changed = await grant_role(conn, user_id, role, now)
    else:
        changed = await revoke_role(conn, user_id, role)
    if not changed:
        return None
    after = sorted(held.value for held in await roles_of(conn, user_id))
    entry = AuditEntry(
        actor_id=None,
        actor=cli_actor(),
        action=GRANT if grant else REVOKE,
        target=f"user:{user_id}",
        before={"roles": before},
        after={"roles": after},
        at=now,
    )
    await append(conn, entry)
    return after
