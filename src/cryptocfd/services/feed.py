"""``cryptocfd feed``, the simple version: simulated ticks for every default asset to the engine.

The seeded simulated market moves each asset ten times a second; every step's ticks go to
``stream:prices`` in one pipeline, each entry one ``TickMessage``, and the stream is kept to an
approximate length so it never grows without bound. Timestamps are wall-clock unix milliseconds,
read here at the edge, never inside the market code.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time

from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD, TickMessage, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.services.sources import TickSource, source_from_setting
from cryptocfd.settings import Settings
from cryptocfd.trading.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.trading.commands import Tick

log = logging.getLogger(__name__)

TICKS_PER_S = 10.0
PRICES_MAXLEN = 100_000  # approximate: Redis trims whole nodes, cheaply


def wall_ms() -> int:
    """Now, in unix milliseconds."""
    return time.time_ns() // 1_000_000


class FeedService:
    """Publishes one tick per asset per step to the prices stream."""

    def __init__(
        self,
        redis: Redis,
        streams: Streams,
        *,
        assets: tuple[AssetSpec, ...] = DEFAULT_ASSETS,
        seed: int | None = None,
        ticks_per_s: float = TICKS_PER_S,
        maxlen: int = PRICES_MAXLEN,
    ) -> None:
        self.redis = redis
        self.streams = streams
        self.market = SimulatedFeed(assets, random.Random(seed))  # noqa: S311 - prices, not keys
        self.interval_s = 1.0 / ticks_per_s
        self.maxlen = maxlen
        self.stopping = asyncio.Event()
        self.published = 0

    async def publish(self, ticks: list[Tick]) -> None:
        """Append ``ticks`` to the prices stream in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for tick in ticks:
            pipe.xadd(
                self.streams.prices,
                {FIELD: encode(TickMessage(tick))},
                maxlen=self.maxlen,
                approximate=True,
            )
        await pipe.execute()
        self.published += len(ticks)

    async def serve(self) -> None:
        """Step the market on the wall clock until ``stopping`` is set."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        last_ms = wall_ms()
        while not self.stopping.is_set():
            now_ms = wall_ms()
            await self.publish(self.market.step(now_ms, max(1, now_ms - last_ms)))
            last_ms = now_ms
            # Keep the cadence without bursts: after a stall, start counting again from now.
            next_at = max(next_at + self.interval_s, loop.time())
            try:
                await asyncio.wait_for(self.stopping.wait(), next_at - loop.time())
            except TimeoutError:
                continue


async def relay(service: FeedService, source: TickSource) -> None:
    """Publish what ``source`` yields until it ends or ``service.stopping`` is set, and say
    when assets go stale or come back (the engine halts opens on a stale asset by itself)."""
    stale: frozenset[str] = frozenset()

    async def watch() -> None:
        await service.stopping.wait()
        source.stop()

    watcher = asyncio.create_task(watch())
    try:
        async for tick in source.ticks():
            await service.publish([tick])
            now_stale = source.stale_assets()
            if now_stale != stale:
                log.warning("stale feed for: %s", ", ".join(sorted(now_stale)) or "none")
                stale = now_stale
            if service.stopping.is_set():
                break
    finally:
        watcher.cancel()


async def run_feed(settings: Settings) -> None:
    """Publish ticks from the configured source until SIGTERM or SIGINT."""
    redis = Redis.from_url(settings.redis_url)
    try:
        service = FeedService(redis, Streams(settings.redis_prefix))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stopping.set)
        names = ", ".join(a.symbol for a in DEFAULT_ASSETS)
        if settings.feed == "simulated":
            print(f"feed: simulated ticks for {names}, {TICKS_PER_S:g}/s each", flush=True)
            await service.serve()
        else:
            print(f"feed: {settings.feed} for {names}", flush=True)
            source = source_from_setting(settings.feed, binance_ws_url=settings.binance_ws_url)
            await relay(service, source)
        log.info("feed stopped after %d ticks", service.published)
    finally:
        await redis.aclose()
