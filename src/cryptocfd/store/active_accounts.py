"""Which account, demo or live, a user's requests act on when they name none.

The choice is the user's, kept beside them in ``users.active_account``; whether their live
account exists is the engine's to say, never a copy here (``usecases.accounts``).
"""

from __future__ import annotations

from cryptocfd.core.accounts import AccountKind
from cryptocfd.store.database import Db


async def active_kind(db: Db, user_id: int) -> AccountKind:
    """The kind of ``user_id``'s active account (demo for a user not stored)."""
    kind = await db.fetchval("SELECT active_account FROM users WHERE id = $1", user_id)
    return AccountKind.DEMO if kind is None else AccountKind(kind)


async def set_active_kind(db: Db, user_id: int, kind: AccountKind) -> None:
    """Make ``kind`` ``user_id``'s active account."""
    await db.execute("UPDATE users SET active_account = $2 WHERE id = $1", user_id, str(kind))
