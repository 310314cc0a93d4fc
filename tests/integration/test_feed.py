"""``cryptocfd feed``: simulated ticks on the prices stream, as the engine reads them, and on
the ticks channel for the gateways."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter

from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD, TickMessage, decode_tick
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.tick import Tick
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.services.feed import FeedService
from tests.waiting import until

SYMBOLS = {a.symbol for a in DEFAULT_ASSETS}


async def ticks_on(redis_client: Redis, streams: Streams) -> list[TickMessage]:
    page = entries(await redis_client.xrange(streams.prices))
    return [decode_tick(fields[FIELD]) for _, fields in page]


async def test_feed_when_run_as_a_process_publishes_decodable_ticks_for_every_default_asset(
    redis_url: str, streams: Streams, redis_client: Redis
) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "CRYPTOCFD_REDIS_PREFIX": streams.prefix}
    started_ms = time.time_ns() // 1_000_000
    feed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cryptocfd.cli", "feed", env=env, stdout=asyncio.subprocess.PIPE
    )
    assert feed.stdout is not None
    assert b"feed: simulated ticks" in await asyncio.wait_for(feed.stdout.readline(), 15)

    async def three_each() -> bool:
        return await redis_client.xlen(streams.prices) >= 3 * len(SYMBOLS)

    await until(three_each, poll_s=0.05, why="the feed to publish three ticks an asset")
    feed.send_signal(signal.SIGTERM)
    await feed.communicate()

    assert feed.returncode == 0
    messages = await ticks_on(redis_client, streams)
    stopped_ms = time.time_ns() // 1_000_000
    assert {m.tick.asset for m in messages} == SYMBOLS
    for message in messages:
        assert 0 < message.tick.bid < message.tick.ask
        assert started_ms <= message.tick.ts <= stopped_ms  # wall-clock unix milliseconds


async def test_feed_when_serving_a_second_sends_about_ten_ticks_per_asset(
    streams: Streams, redis_client: Redis
) -> None:
    feed = FeedService(redis_client, streams, seed=1)
    serving = asyncio.create_task(feed.serve())

    async def a_second_served() -> bool:  # by the feed's own stamps, not by a guessed sleep
        stamps = [m.tick.ts for m in await ticks_on(redis_client, streams)]
        return bool(stamps) and max(stamps) - min(stamps) >= 1_000

    await until(a_second_served, poll_s=0.02)
    feed.stopping.set()
    await serving

    per_asset = Counter(m.tick.asset for m in await ticks_on(redis_client, streams))
    assert set(per_asset) == SYMBOLS
    assert all(6 <= count <= 12 for count in per_asset.values()), per_asset


async def test_feed_when_the_stream_is_long_trims_it_to_about_its_bound(
    streams: Streams, redis_client: Redis
) -> None:
    feed = FeedService(redis_client, streams, seed=2, maxlen=120)
    market = SimulatedFeed(DEFAULT_ASSETS, random.Random(2))

    for step in range(100):
        await feed.publish(market.step(1_700_000_000_000 + step * 100, 100))

    assert feed.published == 100 * len(SYMBOLS)
    assert 120 <= await redis_client.xlen(streams.prices) < 300  # approximate: whole nodes


async def test_feed_when_serving_publishes_each_tick_on_the_channel_as_on_the_stream(
    streams: Streams, redis_client: Redis
) -> None:
    heard: list[Tick] = []
    async with redis_client.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe(streams.ticks)
        feed = FeedService(redis_client, streams, seed=3)
        serving = asyncio.create_task(feed.serve())
        deadline = time.monotonic() + 10
        while len(heard) < 30:
            assert time.monotonic() < deadline, "too little on the ticks channel"
            message = await pubsub.get_message(timeout=1.0)  # None for the subscription too
            if message is not None:
                heard.append(decode_tick(message["data"]).tick)
        feed.stopping.set()
        await serving

    on_stream = [m.tick for m in await ticks_on(redis_client, streams)]
    assert heard == on_stream[: len(heard)]  # the same ticks, in the same order
