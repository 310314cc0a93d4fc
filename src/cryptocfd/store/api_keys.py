"""API keys in PostgreSQL: at most 20 live keys a user, secrets sealed, revoked for good.

An HMAC key's secret is sealed under the server key, bound to its ``api_key``
(``store.sealing``): HMAC needs the secret itself, so a hash would not do, and a copy of the
database without the server key signs nothing. An Ed25519 key has no secret here: its public
key is stored as it is (raw 32 bytes).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

import msgspec

from cryptocfd.identity.apikeys import (
    MAX_KEYS_PER_USER,
    HmacVerifier,
    KeyKind,
    Scope,
    Verifier,
    new_api_key,
    new_key,
)
from cryptocfd.identity.public_keys import Ed25519Verifier
from cryptocfd.store.database import Db
from cryptocfd.store.sealing import Sealer

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_SEAL_PURPOSE = b"cryptocfd api-key secret v1"


class TooManyKeys(Exception):  # noqa: N818 - says what the user has
    """The user already has ``MAX_KEYS_PER_USER`` live keys."""


class NewKey(msgspec.Struct, frozen=True):
    """A key just made: the only time an HMAC key's secret leaves the server (an Ed25519 key
    has none)."""

    key_id: int
    api_key: str
    kind: KeyKind
    secret: str | None


@dataclass(frozen=True, slots=True)
class KeyListing:
    """A live key as its owner's list shows it: never its secret."""

    key_id: int
    api_key: str
    kind: KeyKind
    label: str
    scopes: tuple[Scope, ...]
    ip_allowlist: tuple[IpNetwork, ...]
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiveKey:
    """A live key with what checks its signatures (an HMAC key's secret opened)."""

    key_id: int
    user_id: int
    verifier: Verifier
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
    public_key: bytes | None = None,
) -> NewKey:
    """Make a key for ``user_id``, or ``TooManyKeys``: an Ed25519 key for the raw
    ``public_key`` (checked already: ``public_keys.parse_public_key``), else an HMAC key with a
    fresh secret. The count and the insert are one statement, so two requests at once cannot
    both make the 21st."""
    if public_key is None:
        api_key, secret = new_key()
        kind, sealed = KeyKind.HMAC, seal.seal(secret.encode(), api_key.encode())
    else:
        api_key, secret, kind, sealed = new_api_key(), None, KeyKind.ED25519, None
    key_id = await db.fetchval(
        "INSERT INTO api_keys (user_id, api_key, kind, sealed_secret, public_key, label,"
        " scopes, ip_allowlist, created_at)"
        " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
        " FROM users WHERE id = $1 AND"
        " (SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL) < $10"
        " RETURNING key_id",
        user_id,
        api_key,
        str(kind),
        sealed,
        public_key,
        label,
        [str(scope) for scope in scopes],
        list(ip_allowlist),
        now,
        MAX_KEYS_PER_USER,
    )
    if key_id is None:
        raise TooManyKeys(f"at most {MAX_KEYS_PER_USER} live API keys a user")
    return NewKey(int(key_id), api_key, kind, secret)


async def list_keys(db: Db, user_id: int) -> list[KeyListing]:
    """The user's live keys, newest first."""
    rows = await db.fetch(
        "SELECT key_id, api_key, kind, label, scopes, ip_allowlist, created_at, last_used_at"
        " FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY key_id DESC",
        user_id,
    )
    return [
        KeyListing(
            int(row["key_id"]),
            row["api_key"],
            KeyKind(row["kind"]),
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
        "SELECT key_id, user_id, kind, sealed_secret, public_key, scopes, ip_allowlist"
        " FROM api_keys WHERE api_key = $1 AND revoked_at IS NULL",
        api_key,
    )
    if row is None:
        return None
    verifier: Verifier
    if KeyKind(row["kind"]) is KeyKind.ED25519:
        verifier = Ed25519Verifier(bytes(row["public_key"]))
    else:
        secret = seal.open(bytes(row["sealed_secret"]), api_key.encode()).decode()
        verifier = HmacVerifier(secret)
    scopes = frozenset(Scope(scope) for scope in row["scopes"])
    return LiveKey(
        int(row["key_id"]), int(row["user_id"]), verifier, scopes, tuple(row["ip_allowlist"])
    )


async def mark_used(db: Db, key_id: int, now: datetime) -> None:
    """Record that ``key_id`` signed a request at ``now``."""
    await db.execute("UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1", key_id, now)
