"""Feed ticks on Redis: the engine's price stream, and a pub/sub channel for live fan-out.

Every tick goes to both in one round trip. ``stream:prices`` is what the engine trades on:
kept, consumed by a group, replayed after a crash. The channel is fire-and-forget: each
gateway subscribes and quotes the tick for its websocket clients at once, by the engine's own
rules (``gateway/live.py``), without waiting for the engine's record of it. A gateway that
misses a message (a reconnect) catches up from the engine's log, which it follows anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from cryptocfd.bus.messages import FIELD, BadMessage, TickMessage, decode_tick, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.core.tick import Tick

log = logging.getLogger(__name__)

PRICES_MAXLEN = 100_000  # approximate: Redis trims whole nodes, cheaply
RETRY_S = 0.5


async def publish_ticks(
    redis: Redis, streams: Streams, ticks: Iterable[Tick], maxlen: int = PRICES_MAXLEN
) -> int:
    """Append ``ticks`` to the prices stream and publish them on the ticks channel, in order;
    the number published."""
    pipe = redis.pipeline(transaction=False)
    count = 0
    for tick in ticks:
        data = encode(TickMessage(tick))
        pipe.xadd(streams.prices, {FIELD: data}, maxlen=maxlen, approximate=True)
        pipe.publish(streams.ticks, data)
        count += 1
    if count:
        await pipe.execute()
    return count


class TickFollower:
    """Calls ``on_tick`` for every tick published while it runs; subscribes again after a
    lost connection."""

    def __init__(self, redis: Redis, streams: Streams, on_tick: Callable[[Tick], None]) -> None:
        self._redis = redis
        self._streams = streams
        self._on_tick = on_tick
        self._closing = False
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start following in a task of its own."""
        self._task = asyncio.create_task(self._follow(), name="ticks")

    async def close(self) -> None:
        """Stop following. A cancel alone can be lost: redis-py swallows one that lands while
        it subscribes, and the task would then wait on the channel for good. So the follower
        is told, and its connection closed under it, before it is cancelled."""
        self._closing = True
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated upstream
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        while not self._closing:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    self._pubsub = pubsub
                    await pubsub.subscribe(self._streams.ticks)
                    if self._closing:
                        return
                    async for message in pubsub.listen():
                        self._deliver(message["data"])
            except Exception as exc:
                if self._closing:
                    return  # closed under it: whatever the client raised on the way out
                if not isinstance(exc, RedisError | OSError):
                    raise
                log.warning("ticks channel lost; subscribing again", exc_info=True)
                await asyncio.sleep(RETRY_S)
            finally:
                self._pubsub = None

    def _deliver(self, data: bytes) -> None:
        try:
            tick = decode_tick(data).tick
        except BadMessage:
            log.warning("skipped an unreadable tick on %s", self._streams.ticks)
            return
        self._on_tick(tick)
