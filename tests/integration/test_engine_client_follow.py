"""The engine client follows the record stream from where its caller read up to: a gateway
that read the log back on start misses no record written before its follower began."""

from __future__ import annotations

from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.messages import FIELD, Record, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents
from cryptocfd.trading.events import Accepted, FundsDeposited
from tests.waiting import until


def deposited(n: int) -> bytes:
    event = FundsDeposited(1, Cents(n), n)
    return encode(Record("command", f"dep-{n}", n, Accepted((event,)), applied=True))


async def test_start_when_given_a_record_id_delivers_every_record_after_it(
    redis_client: Redis, streams: Streams
) -> None:
    read_up_to = await redis_client.xadd(streams.records, {FIELD: deposited(1)})
    assert isinstance(read_up_to, bytes)
    for n in (2, 3):  # written after the caller read the log, before the client started
        await redis_client.xadd(streams.records, {FIELD: deposited(n)})
    client = EngineClient(redis_client, streams)
    seen: list[str | None] = []
    client.listeners.append(lambda record: seen.append(record.request_id))

    await client.start(records_after=read_up_to)
    await redis_client.xadd(streams.records, {FIELD: deposited(4)})
    try:
        await until(lambda: len(seen) >= 3, 5)
    finally:
        await client.close()

    assert seen == ["dep-2", "dep-3", "dep-4"]


async def test_start_when_given_no_record_id_follows_from_the_end(
    redis_client: Redis, streams: Streams
) -> None:
    await redis_client.xadd(streams.records, {FIELD: deposited(1)})
    client = EngineClient(redis_client, streams)
    seen: list[str | None] = []
    client.listeners.append(lambda record: seen.append(record.request_id))

    await client.start()
    await redis_client.xadd(streams.records, {FIELD: deposited(2)})
    try:
        await until(lambda: len(seen) >= 1, 5)
    finally:
        await client.close()

    assert seen == ["dep-2"]
