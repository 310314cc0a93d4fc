"""Rate limits in Redis, shared by every gateway: fixed one-minute windows per key.

A window is one counter with a TTL; the first request of a window sets the TTL, so a client
over the limit is told exactly how many seconds remain (``Retry-After``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from cryptocfd.gateway.errors import ApiError

if TYPE_CHECKING:
    from litestar.types import Scope

WINDOW_S = 60
# INCR, and the TTL on a window's first hit, as one command: cheaper for the gateway than a
# pipeline of two, which matters for a counter every request pays.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def scope_ip(scope: Scope) -> str:
    """The client's address as the server saw it (put a trusted proxy's header here if any)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def windowed(key: str, window_s: int = WINDOW_S) -> str:
    """The counter of ``key`` for the current window."""
    return f"{key}:{int(time.time()) // window_s}"


def add_hits(pipe: Pipeline, counters: list[str], window_s: int = WINDOW_S) -> None:
    """Queue one hit on each counter in ``pipe`` (two commands per counter)."""
    for counter in counters:
        pipe.incr(counter)
        pipe.expire(counter, window_s + 1, nx=True)


def check_hits(counts: list[int], limits: list[int], window_s: int = WINDOW_S) -> None:
    """Raise a 429 if any count passed its limit."""
    for count, limit in zip(counts, limits, strict=True):
        if int(count) > limit:
            retry_after = window_s - int(time.time()) % window_s
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"more than {limit} requests a minute; try again in {retry_after} s",
                {"Retry-After": str(retry_after)},
            )


async def hit(redis: Redis, key: str, limit: int, window_s: int = WINDOW_S) -> None:
    """Count one request against ``key``; raise a 429 once ``limit`` is passed."""
    async with redis.pipeline(transaction=False) as pipe:
        add_hits(pipe, [windowed(key, window_s)], window_s)
        results = await pipe.execute()
    check_hits([results[0]], [limit], window_s)


class WindowCounter:
    """``hit`` in one Redis command (a cached script), for the counter every request pays."""

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window_s: int = WINDOW_S) -> None:
        """Count one request against ``key``; raise a 429 once ``limit`` is passed."""
        count = await self._script(keys=[windowed(key, window_s)], args=[window_s + 1])
        check_hits([count], [limit], window_s)
