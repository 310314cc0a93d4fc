"""Rate limits in Redis, shared by every gateway: fixed one-minute windows per key.

A window is one counter with a TTL; the first request of a window sets the TTL, so a client
over the limit is told exactly how many seconds remain (``Retry-After``).
"""

from __future__ import annotations

from typing import NamedTuple

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from cryptocfd.core.clock import Clock
from cryptocfd.gateway.errors import ApiError

WINDOW_S = 60
RATE_WINDOW = "rate_window"  # the scope state's key for the window a response reports


class Window(NamedTuple):
    """A limit's window as a response reports it: ``X-RateLimit-Limit``, ``-Remaining`` and
    ``-Reset`` (seconds until the window ends, as the IETF RateLimit fields count them)."""

    limit: int
    used: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """The three headers."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(self.reset_s),
        }


def window_of(limit: int, used: int, now_s: int, window_s: int = WINDOW_S) -> Window:
    """The window holding ``now_s`` with ``used`` of ``limit`` counted."""
    return Window(limit, used, window_s - now_s % window_s)


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
    window = window_of(limit, limit, now_s, window_s)
    return ApiError(
        429,
        "RATE_LIMITED",
        f"more than {limit} requests a minute; try again in {window.reset_s} s",
        {"Retry-After": str(window.reset_s), **window.headers()},
    )


async def hit(redis: Redis, key: str, limit: int, clock: Clock, window_s: int = WINDOW_S) -> None:
    """Count one request against ``key``; raise a 429 once ``limit`` is passed."""
    now_s = clock.now_ms() // 1000
    async with redis.pipeline(transaction=False) as pipe:
        add_hits(pipe, [windowed(key, now_s, window_s)], window_s)
        results = await pipe.execute()
    check_hits([results[0]], [limit], now_s, window_s)


async def hit_and_check(
    redis: Redis, key: str, limit: int, now_s: int, marker: str | None
) -> Window | None:
    """Count one request against ``key`` (a 429 past ``limit``) and ask, in the same round
    trip, whether ``marker`` exists (``None``: nothing to ask): ``None`` if it does (a revoked
    sign-in is a 401 even past the limit), else the window as counted."""
    async with redis.pipeline(transaction=False) as pipe:
        if marker is not None:
            pipe.exists(marker)
        add_hits(pipe, [windowed(key, now_s)])
        results = await pipe.execute()
    if marker is not None and results[0]:
        return None
    count = int(results[-2])
    check_hits([count], [limit], now_s)
    return window_of(limit, count, now_s)
