"""API keys in PostgreSQL: at most 20 live keys a user, secrets sealed, revoked for good.

The secret is sealed under the server key, bound to its ``api_key`` (``store.sealing``): HMAC
needs the secret itself, so a hash would not do, and a copy of the database without the server
key signs nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

import msgspec

from cryptocfd.identity.apikeys import MAX_KEYS_PER_USER, Scope, new_key
from cryptocfd.store.database import Db
from cryptocfd.store.sealing import Sealer

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_SEAL_PURPOSE = b"cryptocfd api-key secret v1"


class TooManyKeys(Exception):  # noqa: N818 - says what the user has
    """The user already has ``MAX_KEYS_PER_USER`` live keys."""


class NewKey(msgspec.Struct, frozen=True):
    """A key just made: the only time its secret leaves the server."""

    key_id: int
    api_key: str
    secret: str


@dataclass(frozen=True, slots=True)
class KeyListing:
    """A live key as its owner's list shows it: never its secret."""

    key_id: int
    api_key: str
    label: str
    scopes: tuple[Scope, ...]
    ip_allowlist: tuple[IpNetwork, ...]
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiveKey:
    """A live key with its secret opened, for checking a signature."""

    key_id: int
    user_id: int
    secret: str
    scopes: frozenset[Scope]
    ip_allowlist: tuple[IpNetwork, ...]


def sealer(server_key: bytes) -> Sealer:
    """What seals and opens the secrets of this installation's keys."""
    return Sealer(server_key, _SEAL_PURPOSE)


async def create_key(
    db: Db,
    seal: Sealer,
    user_id: int,
    label: str,
    scopes: tuple[Scope, ...],
    ip_allowlist: tuple[IpNetwork, ...],
    now: datetime,
) -> NewKey:
    """Make a key for ``user_id``, or ``TooManyKeys``. The count and the insert are one
    statement, so two requests at once cannot both make the 21st."""
    api_key, secret = new_key()
    key_id = await db.fetchval(
        "INSERT INTO api_keys"
        " (user_id, api_key, sealed_secret, label, scopes, ip_allowlist, created_at)"
        " SELECT $1, $2, $3, $4, $5, $6, $7"
        " FROM users WHERE id = $1 AND"
        " (SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL) < $8"
        " RETURNING key_id",
        user_id,
        api_key,
        seal.seal(secret.encode(), api_key.encode()),
        label,
        [str(scope) for scope in scopes],
        list(ip_allowlist),
        now,
        MAX_KEYS_PER_USER,
    )
    if key_id is None:
        raise TooManyKeys(f"at most {MAX_KEYS_PER_USER} live API keys a user")
    return NewKey(int(key_id), api_key, secret)


async def list_keys(db: Db, user_id: int) -> list[KeyListing]:
    """The user's live keys, newest first."""
    rows = await db.fetch(
        "SELECT key_id, api_key, label, scopes, ip_allowlist, created_at, last_used_at"
        " FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY key_id DESC",
        user_id,
    )
    return [
        KeyListing(
            int(row["key_id"]),
            row["api_key"],
            row["label"],
            tuple(Scope(scope) for scope in row["scopes"]),
            tuple(row["ip_allowlist"]),
            row["created_at"],
            row["last_used_at"],
        )
        for row in rows
    ]


async def revoke_key(db: Db, user_id: int, key_id: int, now: datetime) -> str | None:
    """Revoke the user's key ``key_id``; its ``api_key``, or ``None`` if it was not theirs
    and live."""
    revoked: str | None = await db.fetchval(
        "UPDATE api_keys SET revoked_at = $3"
        " WHERE key_id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING api_key",
        key_id,
        user_id,
        now,
    )
    return revoked


async def live_key(db: Db, seal: Sealer, api_key: str) -> LiveKey | None:
    """The live key ``api_key``, its secret opened; ``None`` if unknown or revoked."""
    row = await db.fetchrow(
        "SELECT key_id, user_id, sealed_secret, scopes, ip_allowlist FROM api_keys"
        " WHERE api_key = $1 AND revoked_at IS NULL",
        api_key,
    )
    if row is None:
        return None
    secret = seal.open(bytes(row["sealed_secret"]), api_key.encode()).decode()
    scopes = frozenset(Scope(scope) for scope in row["scopes"])
    return LiveKey(
        int(row["key_id"]), int(row["user_id"]), secret, scopes, tuple(row["ip_allowlist"])
    )


async def mark_used(db: Db, key_id: int, now: datetime) -> None:
    """Record that ``key_id`` signed a request at ``now``."""
    await db.execute("UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1", key_id, now)
