"""Rate limits in Redis, shared by every gateway: fixed one-minute windows per key.

A window is one counter with a TTL; the first request of a window sets the TTL, so a client
over the limit is told exactly how many seconds remain (``Retry-After``).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from cryptocfd.gateway.errors import ApiError

WINDOW_S = 60


async def hit(redis: Redis, key: str, limit: int, window_s: int = WINDOW_S) -> None:
    """Count one request against ``key``; raise a 429 once ``limit`` is passed."""
    window = int(time.time()) // window_s
    counter = f"{key}:{window}"
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(counter)
        pipe.expire(counter, window_s + 1, nx=True)
        count, _ = await pipe.execute()
    if int(count) > limit:
        retry_after = window_s - int(time.time()) % window_s
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"more than {limit} requests a minute; try again in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )
