"""What the engine-process tests share: a client on a Redis URL, a counted deposit, and how
often the log says each request was applied."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import Deposit
from cryptocfd.trading.events import Accepted

T0 = 1_700_000_000_000


@contextlib.asynccontextmanager
async def engine_client(url: str, streams: Streams) -> AsyncIterator[EngineClient]:
    """A started client of the engine behind ``url``, with a timeout long enough to outlast
    a recovery."""
    redis = Redis.from_url(url)
    client = EngineClient(redis, streams, timeout_s=20.0)
    await client.start()
    try:
        yield client
    finally:
        await client.close()
        await redis.aclose()


async def applied_once(url: str, streams: Streams) -> dict[str, int]:
    """How often each request id was applied, from the log."""
    redis = Redis.from_url(url)
    counts: dict[str, int] = {}
    for _id, fields in entries(await redis.xrange(streams.records)):
        record = decode_record(fields[FIELD])
        if record.applied and record.request_id is not None:
            counts[record.request_id] = counts.get(record.request_id, 0) + 1
    await redis.aclose()
    return counts


async def deposit(client: EngineClient, n: int) -> None:
    """Deposit 100 into account 7 as request ``dep-n``; it must be accepted."""
    outcome = await client.send(Deposit(f"dep-{n}", T0 + n, 7, Cents(100)))
    assert isinstance(outcome, Accepted), outcome
