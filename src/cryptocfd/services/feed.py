"""``cryptocfd feed``: the ticks of the source ``CRYPTOCFD_FEED`` names, to the engine.

Each tick goes to ``stream:prices`` as one ``TickMessage`` for the engine, kept to an
approximate length so it never grows without bound, and to the ticks pub/sub channel for the
gateways' websocket fan-out (``bus/ticks.py``). The sources (``services/sources``) stamp
ticks with the wall clock at this edge, never inside the market code.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import PRICES_MAXLEN, publish_ticks
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.tick import Tick
from cryptocfd.services.sources import TickSource, source_from_setting
from cryptocfd.services.sources.simulated import SimulatedSource
from cryptocfd.settings import Settings

log = logging.getLogger(__name__)

TICKS_PER_S = 10.0


class FeedService:
    """Publishes the ticks of a source to the prices stream (the seeded simulated market when
    no source is given)."""

    def __init__(
        self,
        redis: Redis,
        streams: Streams,
        *,
        source: TickSource | None = None,
        seed: int | None = None,
        maxlen: int = PRICES_MAXLEN,
    ) -> None:
        self.redis = redis
        self.streams = streams
        self.source = source or SimulatedSource(DEFAULT_ASSETS, seed=seed)
        self.maxlen = maxlen
        self.stopping = asyncio.Event()
        self.published = 0

    async def publish(self, ticks: list[Tick]) -> None:
        """Send ``ticks`` to the prices stream and the ticks channel in one round trip."""
        self.published += await publish_ticks(self.redis, self.streams, ticks, self.maxlen)

    async def serve(self) -> None:
        """Relay the source until it ends or ``stopping`` is set."""
        await relay(self, self.source)


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
        else:
            print(f"feed: {settings.feed} for {names}", flush=True)
        service.source = source_from_setting(settings.feed, binance_ws_url=settings.binance_ws_url)
        await service.serve()
        log.info("feed stopped after %d ticks", service.published)
    finally:
        await redis.aclose()
