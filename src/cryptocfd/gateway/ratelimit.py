"""Rate limits in Redis, shared by every gateway: fixed one-minute windows per key.

A window is one counter with a TTL; the first request of a window sets the TTL, so a client
over the limit is told exactly how many seconds remain (``Retry-After``).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from cryptocfd.core.clock import Clock
from cryptocfd.gateway.errors import ApiError

WINDOW_S = 60


def windowed(key: str, now_s: int, window_s: int = WINDOW_S) -> str:
    """The counter of ``key`` for the window holding ``now_s`` (unix seconds)."""
    return f"{key}:{now_s // window_s}"


def add_hits(pipe: Pipeline, counters: list[str], window_s: int = WINDOW_S) -> None:
    """Queue one hit on each counter in ``pipe`` (two commands per counter)."""
    for counter in counters:
        pipe.incr(counter)
        pipe.expire(counter, window_s + 1, nx=True)


def check_hits(counts: list[int], limits: list[int], now_s: int, window_s: int = WINDOW_S) -> None:
    """Raise a 429 if any count passed its limit (``now_s``: when, for ``Retry-After``)."""
    for count, limit in zip(counts, limits, strict=True):
        if int(count) > limit:
            raise too_many(limit, now_s, window_s)


def too_many(limit: int, now_s: int, window_s: int = WINDOW_S) -> ApiError:
    """The 429 of a client past ``limit`` at ``now_s``, with the seconds its window has left."""
    retry_after = window_s - now_s % window_s
    return ApiError(
        429,
        "RATE_LIMITED",
        f"more than {limit} requests a minute; try again in {retry_after} s",
        {"Retry-After": str(retry_after)},
    )


async def hit(redis: Redis, key: str, limit: int, clock: Clock, window_s: int = WINDOW_S) -> None:
    """Count one request against ``key``; raise a 429 once ``limit`` is passed."""
    now_s = clock.now_ms() // 1000
    async with redis.pipeline(transaction=False) as pipe:
        add_hits(pipe, [windowed(key, now_s, window_s)], window_s)
        results = await pipe.execute()
    check_hits([results[0]], [limit], now_s, window_s)


async def hit_and_check(redis: Redis, key: str, limit: int, now_s: int, marker: str | None) -> bool:
    """Count one request against ``key`` (a 429 past ``limit``) and say, in the same round
    trip, whether ``marker`` exists (``None``: nothing to ask). The marker is answered first:
    a revoked sign-in is a 401 even past the limit."""
    async with redis.pipeline(transaction=False) as pipe:
        if marker is not None:
            pipe.exists(marker)
        add_hits(pipe, [windowed(key, now_s)])
        results = await pipe.execute()
    if marker is not None and results[0]:
        return True
    check_hits([results[-2]], [limit], now_s)
    return False
