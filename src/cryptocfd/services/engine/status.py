"""This engine's lines in the status hash (``bus.engine_status``): the leader's name, epoch and
takeover time, or a standby's position and lag (counted up to ``LAG_CAP``).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from redis.asyncio import Redis

from cryptocfd.bus.engine_status import STANDBY_FIELDS, status_key
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.trading.engine import Engine

LAG_CAP = 100_000  # a standby further behind than this is reported as this far


def engine_name(consumer: str) -> str:
    """This engine process, as the status names it."""
    return f"{consumer}@{socket.gethostname()}:{os.getpid()}"


class Status:
    """This engine's lines in the status hash."""

    def __init__(
        self,
        redis: Redis,
        streams: Streams,
        name: str,
        clock: Clock = WALL,
        *,
        publish_hash: bool = False,
    ) -> None:
        self.redis = redis
        self.streams = streams
        self.key = status_key(streams.prefix)
        self.name = name
        self.clock = clock
        self.publish_hash = publish_hash  # a full pass over the state: for checks, off by default
        self._hashed_at: str | None = None
        self._last_at: int | None = None  # monotonic ns of the last report

    async def leading(self, epoch: int | None) -> None:
        """This engine has just taken the lease."""
        fields: dict[Any, Any] = {
            "leader": self.name,
            "epoch": epoch or 0,
            "takeover_ms": self.clock.now_ms(),
        }
        await self.redis.hset(self.key, mapping=fields)
        if await self.redis.hget(self.key, "standby") == self.name.encode():  # it was ours
            await self.redis.hdel(self.key, *STANDBY_FIELDS)

    async def following(self, after: str, engine: Engine, every_ns: int) -> None:
        """Where this standby is, at most every ``every_ns``; with its state hash when caught
        up and asked to."""
        now = self.clock.monotonic_ns()
        if self._last_at is not None and now - self._last_at < every_ns:
            return
        self._last_at = now
        page = await self.redis.xrange(self.streams.records, min=f"({after}", count=LAG_CAP)
        behind = len(entries(page))
        fields: dict[Any, Any] = {
            "standby": self.name,
            "standby_record": after,
            "standby_lag": behind,
            "standby_seen_ms": self.clock.now_ms(),
        }
        if self.publish_hash and behind == 0 and after != self._hashed_at:
            fields["standby_hash"] = engine.state_hash()
            self._hashed_at = after
        await self.redis.hset(self.key, mapping=fields)
