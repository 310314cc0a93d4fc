"""Builds and runs the engine process from settings (``cryptocfd engine``)."""

from __future__ import annotations

import asyncio
import logging
import signal

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.services.engine.durability import check_durability
from cryptocfd.services.engine.service import EngineService
from cryptocfd.services.engine.snapshotting import Cadence
from cryptocfd.services.snapshots import SnapshotStore, dev_key, parse_key
from cryptocfd.settings import Settings

log = logging.getLogger(__name__)


def build_store(settings: Settings) -> SnapshotStore:
    """The snapshot store under the state directory, with the configured (or dev) key."""
    directory = settings.state_path / "snapshots"
    key = (
        parse_key(settings.snapshot_key)
        if settings.snapshot_key
        else dev_key(settings.state_path)  # settings already refused this in prod
    )
    return SnapshotStore(directory, key, keep=settings.snapshots_kept)


async def run_engine(settings: Settings) -> None:
    """Recover, then serve until SIGTERM or SIGINT."""
    redis = Redis.from_url(settings.redis_url)
    try:
        await check_durability(
            redis,
            prod=settings.env == "prod",
            allow_without_aof=settings.allow_redis_without_aof,
        )
        service = EngineService(
            redis,
            Streams(settings.redis_prefix),
            build_store(settings),
            consumer=settings.engine_consumer,
            cadence=Cadence(settings.snapshot_every_s, settings.snapshot_every_events),
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stopping.set)
        await service.ensure_groups()
        replayed = await service.recover()
        log.info("engine ready: %d records replayed, serving", replayed)
        print(f"engine ready ({replayed} records replayed)", flush=True)
        await service.serve()
        await service.wait_for_snapshot()
    finally:
        await redis.aclose()
