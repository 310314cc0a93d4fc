"""What every request handler shares in one gateway process, built once from settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import TickFollower
from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.gateway.live import LiveHub
from cryptocfd.gateway.order_window import OrderWindow
from cryptocfd.settings import Settings
from cryptocfd.store.api_keys import LiveKey
from cryptocfd.store.database import create_pool
from cryptocfd.store.keyfiles import server_key

log = logging.getLogger(__name__)

REDIS_CONNECTIONS = 64
SEED_RECORDS = 5_000  # how many of the log's newest records a starting gateway reads back
REDIS_WAIT_S = 5.0
# A pooled connection idle this long is pinged before use, so one that a Redis restart cut is
# found and replaced before a request's command is sent on it.
REDIS_HEALTH_CHECK_S = 2


@dataclass
class CachedKey:
    """An API key as this process last read it (``gateway.signed``)."""

    key: LiveKey
    loaded_ms: int
    marked_ms: int  # when its ``last_used_at`` was last written


class KeyCache:
    """API keys as this process last read them, by ``api_key`` (``gateway.signed``).

    A plain class, not a dataclass: Litestar checks a handler's dependencies against their
    types with msgspec, which cannot read the key's networks, and takes this one as it is.
    """

    def __init__(self) -> None:
        self.entries: dict[str, CachedKey] = {}


@dataclass
class Resources:
    """Connections, keys and configuration of one gateway process. It holds no user state:
    any number of gateways can serve the same users."""

    settings: Settings
    pool: asyncpg.Pool
    redis: Redis
    engine: EngineClient
    secret: bytes
    assets: dict[str, AssetSpec]
    live: LiveHub
    clock: Clock = WALL  # every time the gateway reads, from commands' ts to rate windows
    key_cache: KeyCache = field(default_factory=KeyCache)
    prefix: str = field(init=False)
    """The Redis key prefix of this installation (``settings.redis_prefix``), read by every
    request: an attribute, not a property computed each time."""

    def __post_init__(self) -> None:
        self.prefix = self.settings.redis_prefix

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` everywhere but on a localhost URL (plain HTTP in dev)."""
        host = urlsplit(self.settings.public_url).hostname or ""
        return host not in {"localhost", "127.0.0.1", "::1"}


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, clock: Clock = WALL) -> AsyncIterator[Resources]:
    """Connect to PostgreSQL, Redis and the engine; close them all at the end."""
    # No connection is opened up front: a gateway started while PostgreSQL is down must still
    # trade (nothing of trading needs the database); what does answers 503 until it is back.
    pool = await create_pool(settings.database_url, min_size=0)
    # A bounded pool that makes a burst wait for a connection instead of opening thousands
    # (the engine client's reader holds one for its blocking reads).
    # A command that fails on a dead connection is tried once more on a fresh one: after a
    # Redis restart every pooled connection is dead, and each would otherwise cost a request
    # its answer. Sending twice is safe: commands carry request ids the engine answers once.
    pool_of_connections = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_WAIT_S,
        health_check_interval=REDIS_HEALTH_CHECK_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[RedisConnectionError],
    )
    redis = Redis.from_pool(pool_of_connections)  # the client owns and closes the pool
    streams = Streams(settings.redis_prefix)
    engine = EngineClient(redis, streams, settings.engine_timeout_s)
    assets = {spec.symbol: spec for spec in DEFAULT_ASSETS}
    window = OrderWindow(settings.ws_resume_frames, settings.ws_resume_per_account)
    live = LiveHub(assets, window)
    seeded = await seed_quotes(redis, streams, live)
    engine.listeners.append(live.on_record)
    await engine.start(records_after=seeded)
    ticks = TickFollower(redis, streams, live.on_tick)
    ticks.start()
    try:
        yield Resources(
            settings=settings,
            pool=pool,
            redis=redis,
            engine=engine,
            secret=server_key(settings),
            assets=assets,
            live=live,
            clock=clock,
        )
    finally:
        await ticks.close()
        await engine.close()
        await redis.aclose()
        await pool.close()


async def seed_quotes(
    redis: Redis, streams: Streams, live: LiveHub, records: int = SEED_RECORDS
) -> bytes | None:
    """Fill the hub's newest quotes from the log's recent records, so ``/prices/latest``
    answers from the start instead of after the next tick of every asset (with Redis away,
    from the first ticks once it is back). The same records fill its window of order events,
    so a client can resume on a gateway that started after the events it missed. Returns the
    id of the newest record read (``None``: none), for the follower to go on right after it:
    a record written in between would otherwise be missed, and a resume could not tell."""
    try:
        recent = entries(await redis.xrevrange(streams.records, count=records))
    except RedisError as exc:
        log.warning("no quotes to start from, Redis is away: %s", exc)
        return None
    for _entry_id, fields in reversed(recent):
        live.on_record(decode_record(fields[FIELD]))
    return recent[0][0] if recent else None
