"""Who leads, and how far behind the standby is: a small hash under the prefix
(``{prefix}engine:status``) that the engines write and ``/readyz`` and ``/metrics`` read.

The leader writes ``leader`` (its name), ``epoch`` and ``takeover_ms`` (when it took the lease);
a standby writes ``standby``, ``standby_record`` (the last record it applied), ``standby_lag``
(records behind) and ``standby_seen_ms``. It is information, not coordination: the lease alone
decides who writes.
"""

from __future__ import annotations

from redis.asyncio import Redis

STANDBY_FIELDS = ("standby", "standby_record", "standby_lag", "standby_seen_ms", "standby_hash")


def status_key(prefix: str) -> str:
    """The status hash's key."""
    return f"{prefix}engine:status"


async def read_status(redis: Redis, prefix: str) -> dict[str, str]:
    """The status hash as text (empty before any engine has run)."""
    raw: dict[bytes, bytes] = await redis.hgetall(status_key(prefix))  # type: ignore[assignment]
    return {key.decode(): value.decode() for key, value in raw.items()}
