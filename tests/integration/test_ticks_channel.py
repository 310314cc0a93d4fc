"""The ticks channel on a real Redis: what a gateway's follower hears, and that it stops."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import TickFollower, publish_ticks
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from tests.waiting import until

CLOSE_STEP_S = 0.0001  # each try closes the follower a little later into its subscribing


async def test_follower_when_ticks_are_published_hears_each_in_order(
    redis_client: Redis, streams: Streams
) -> None:
    heard: list[Tick] = []
    follower = TickFollower(redis_client, streams, heard.append)
    follower.start()
    ticks = [
        Tick("ETH", PriceTicks(300_000 + n), PriceTicks(300_100 + n), 1_700_000_000_000 + n)
        for n in range(50)
    ]

    async def subscribed() -> bool:  # the channel keeps nothing: publish until one is heard
        if heard:
            return True
        await publish_ticks(redis_client, streams, ticks[:1])
        return False  # looked at again after a poll's wait, as a tick takes a moment

    try:
        await until(subscribed)
        heard.clear()
        await publish_ticks(redis_client, streams, ticks)
        await until(lambda: len(heard) >= len(ticks))
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
        await asyncio.sleep(step * CLOSE_STEP_S)
        await asyncio.wait_for(follower.close(), 5)
