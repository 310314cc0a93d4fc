"""The leader's lease against a real Redis: one holder at a time, each with its own epoch, and
every write of a holder that lost it refused by Redis itself (the stream left untouched)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.services.engine.batch import Writer
from cryptocfd.services.engine.lease import Lease, LeaseLost

TTL_MS = 200


async def test_lease_when_held_is_refused_to_a_second_engine_until_it_lapses(
    redis_client: Redis, streams: Streams
) -> None:
    first = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)
    second = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)

    assert await first.acquire()
    assert not await second.acquire()
    await asyncio.sleep(TTL_MS * 1.5 / 1000)  # the first neither renews nor writes
    assert await second.acquire()

    assert (first.epoch, second.epoch) == (1, 2)
    assert await second.holder() == "2:engine-1"


async def test_lease_when_renewed_outlasts_its_ttl(redis_client: Redis, streams: Streams) -> None:
    first = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)
    second = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)
    assert await first.acquire()
    keeper = asyncio.create_task(first.keep())
    try:
        await asyncio.sleep(TTL_MS * 4 / 1000)
        assert not await second.acquire()
    finally:
        keeper.cancel()
    assert not first.lost.is_set()


async def test_lease_when_lapsed_but_not_taken_comes_back_to_its_holder_with_its_epoch(
    redis_client: Redis, streams: Streams
) -> None:
    lease = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)
    assert await lease.acquire()
    await asyncio.sleep(TTL_MS * 1.5 / 1000)  # paused past its TTL; nobody else came

    assert await lease.renew()
    assert (lease.epoch, await lease.holder()) == (1, "1:engine-1")


async def test_writes_when_the_lease_was_taken_over_are_refused_and_write_nothing(
    redis_client: Redis, streams: Streams
) -> None:
    old = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)
    new = Lease(redis_client, streams.prefix, "engine-1", TTL_MS)
    assert await old.acquire()
    old_writer = Writer(redis_client, streams, old)
    assert await old_writer.write([b"first"], [], {}) is not None
    await asyncio.sleep(TTL_MS * 1.5 / 1000)
    assert await new.acquire()
    await redis_client.xadd(streams.commands, {b"m": b"x"})

    with pytest.raises(LeaseLost):
        await old_writer.write([b"late"], [b"answer"], {})
    with pytest.raises(LeaseLost):
        await old.trim(streams.records, "9999999999999-0")
    assert not await old.renew()

    assert old.lost.is_set()
    assert await redis_client.xlen(streams.records) == 1  # neither written nor trimmed
    assert await redis_client.xlen(streams.views) == 0
    assert await Writer(redis_client, streams, new).write([b"next"], [], {}) is not None
    assert await redis_client.xlen(streams.records) == 2


async def test_release_when_ours_frees_the_lease_for_a_standby_at_once(
    redis_client: Redis, streams: Streams
) -> None:
    first = Lease(redis_client, streams.prefix, "engine-1", 60_000)
    second = Lease(redis_client, streams.prefix, "engine-1", 60_000)
    assert await first.acquire()
    await first.release()
    assert await second.acquire()
    await first.release()  # no longer ours: leaves the new holder's lease alone
    assert await second.holder() == "2:engine-1"
