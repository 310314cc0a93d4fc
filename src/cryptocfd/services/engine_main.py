"""Builds and runs the engine process from settings (``cryptocfd engine``).

Redis being away is waited out rather than exited on: at start the engine waits until Redis
answers, and when Redis goes away mid-run (a restart, a failover, a call that timed out) it
drops its state and recovers afresh from the newest snapshot and the log once Redis answers
again, as a restarted process would. A batch whose write timed out may or may not have been
applied; recovering from the log settles which without guessing: a batch that was written is
replayed from its records (its inputs acknowledged with them, in the same MULTI/EXEC), and
one that was not is read again from the inputs still pending. Nothing is applied twice.

An engine that finds another leading (it holds the lease) is its hot standby until it can take
over; one that loses the lease stops writing, drops its state and becomes a standby the same
way, in the same process.

Its socket timeout (``CRYPTOCFD_ENGINE_REDIS_TIMEOUT_S``, 30 s) is far longer than its blocking
reads, so a pause of a few seconds (SIGSTOP, a stalled host) is no failure at all.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from redis.asyncio import Redis
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cryptocfd.bus.streams import Streams
from cryptocfd.services.engine.durability import check_durability
from cryptocfd.services.engine.lease import LeaseLost
from cryptocfd.services.engine.service import EngineService
from cryptocfd.services.engine.snapshotting import Cadence
from cryptocfd.services.retrying import Retry
from cryptocfd.services.snapshots import SnapshotStore, dev_key, parse_key
from cryptocfd.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
# Redis gone or not answering in time (redis-py wraps the socket's own errors in these).
LOST_REDIS = (RedisConnectionError, RedisTimeoutError)


def build_store(settings: Settings) -> SnapshotStore:
    """The snapshot store under the state directory, with the configured (or dev) key."""
    directory = settings.state_path / "snapshots"
    key = (
        parse_key(settings.snapshot_key)
        if settings.snapshot_key
        else dev_key(settings.state_path)  # settings already refused this in prod
    )
    return SnapshotStore(directory, key, keep=settings.snapshots_kept)


def engine_redis(settings: Settings) -> Redis:
    """The engine's Redis client, with its long socket timeout."""
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.engine_redis_timeout_s,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        # No retries inside redis-py: it would send a MULTI/EXEC again after a connection
        # error, and the first may have been applied. Recovery settles it (above).
        retry=RedisRetry(NoBackoff(), 0),
    )


async def run_engine(settings: Settings) -> None:
    """Recover, then serve until SIGTERM or SIGINT, recovering again whenever Redis returns
    after being away."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    redis = engine_redis(settings)
    retry = Retry("the engine's Redis")
    try:
        while not stopping.is_set():
            try:
                await check_durability(
                    redis,
                    prod=settings.env == "prod",
                    allow_without_aof=settings.allow_redis_without_aof,
                )
                await _serve(settings, redis, stopping, retry)
            except LOST_REDIS as exc:
                print(f"engine: Redis is unavailable ({exc}); waiting for it", flush=True)
                await retry.failed(exc, stopping)
            except LeaseLost:
                print("engine: another engine leads; recovering as its standby", flush=True)
            else:
                return
    finally:
        await redis.aclose()


async def _serve(settings: Settings, redis: Redis, stopping: asyncio.Event, retry: Retry) -> None:
    """One life of the engine's state: recover it, then serve until stopped (or Redis fails)."""
    service = EngineService(
        redis,
        Streams(settings.redis_prefix),
        build_store(settings),
        consumer=settings.engine_consumer,
        cadence=Cadence(settings.snapshot_every_s, settings.snapshot_every_events),
        lease_ttl_ms=settings.engine_lease_ttl_ms,
        publish_hash=settings.engine_standby_hash,
    )
    service.stopping = stopping  # set by this process's signals
    try:
        await service.ensure_groups()
        replayed = await service.recover()
        retry.succeeded()
        replayed += await service.lead()
        if stopping.is_set():
            return
        log.info("engine ready: %d records replayed, serving", replayed)
        print(
            f"engine ready ({replayed} records replayed); epoch {service.lease.epoch}", flush=True
        )
        await service.serve()
    finally:
        await service.wait_for_snapshot()
