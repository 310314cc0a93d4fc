"""An engine service run in-process against a real Redis, for the integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.tick import Tick
from cryptocfd.services.engine import Cadence, EngineService
from cryptocfd.services.snapshots import SnapshotStore

KEY = secrets.token_bytes(32)


def store_in(directory: Path, key: bytes = KEY) -> SnapshotStore:
    """A snapshot store in ``directory``."""
    return SnapshotStore(directory / "snapshots", key, keep=3)


@contextlib.asynccontextmanager
async def running_engine(
    redis: Redis, streams: Streams, store: SnapshotStore, cadence: Cadence | None = None
) -> AsyncIterator[EngineService]:
    """Recover and serve in a background task until the block ends."""
    service = EngineService(redis, streams, store, cadence=cadence or Cadence(3600, 10**9))
    await service.ensure_groups()
    await service.recover()
    task = asyncio.create_task(service.serve())
    try:
        yield service
    finally:
        service.stopping.set()
        await task
        await service.wait_for_snapshot()


@contextlib.asynccontextmanager
async def engine_client(
    redis: Redis, streams: Streams, timeout_s: float = 5.0
) -> AsyncIterator[EngineClient]:
    """A started client that is closed when the block ends."""
    client = EngineClient(redis, streams, timeout_s=timeout_s)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def publish_tick(redis: Redis, streams: Streams, tick: Tick) -> None:
    """Send a tick to the prices stream and the ticks channel, as the feed does."""
    await publish_ticks(redis, streams, [tick])


@contextlib.asynccontextmanager
async def engine_and_client(
    redis: Redis, streams: Streams, store: SnapshotStore
) -> AsyncIterator[tuple[EngineService, EngineClient]]:
    """A running engine and a client talking to it."""
    async with (
        running_engine(redis, streams, store) as service,
        engine_client(redis, streams) as client,
    ):
        yield service, client
