"""The ticks channel on a real Redis: what a gateway's follower hears, and that it stops."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import TickFollower, publish_ticks
from cryptocfd.core.tick import Tick


async def test_follower_when_ticks_are_published_hears_each_in_order(
    redis_client: Redis, streams: Streams
) -> None:
    heard: list[Tick] = []
    follower = TickFollower(redis_client, streams, heard.append)
    follower.start()
    ticks = [Tick("ETH", 300_000 + n, 300_100 + n, 1_700_000_000_000 + n) for n in range(50)]
    try:
        for _ in range(200):  # until the subscription is in place: the channel keeps nothing
            await publish_ticks(redis_client, streams, ticks[:1])
            await asyncio.sleep(0.01)
            if heard:
                break
        heard.clear()
        await publish_ticks(redis_client, streams, ticks)
        for _ in range(200):
            if len(heard) >= len(ticks):
                break
            await asyncio.sleep(0.01)
    finally:
        await follower.close()

    assert heard == ticks


async def test_follower_when_closed_at_any_moment_of_subscribing_stops(
    redis_client: Redis, streams: Streams
) -> None:
    # redis-py can swallow a cancel that lands while it subscribes; close must stop it anyway.
    for step in range(40):
        follower = TickFollower(redis_client, streams, lambda _tick: None)
        follower.start()
        await asyncio.sleep(step * 0.0001)
        await asyncio.wait_for(follower.close(), 5)
