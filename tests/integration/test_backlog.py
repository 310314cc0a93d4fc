"""A consumer group's backlog after Redis restarts from a rewritten AOF: Redis 7.0's own ``lag``
is then stale by everything read since the rewrite (redis/redis#12898), so the platform counts
the undelivered entries itself, and ``/readyz`` is ready once the journal has caught up."""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.backlog import undelivered
from cryptocfd.bus.messages import FIELD, Record, encode
from cryptocfd.bus.replies import stream_entries
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.gateway.routes.ops import JOURNAL_BEHIND_READY
from cryptocfd.trading.rejections import RejectCode, Rejection
from tests.integration.gateway_harness import METRICS_TOKEN, running_gateway
from tests.integration.servers import RedisServer, redis_server
from tests.waiting import until

REFUSED = encode(Record("command", "r", 0, Rejection(RejectCode.UNKNOWN_ACCOUNT, "no"), False))


async def add(redis: Redis, stream: str, count: int) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for _ in range(count):
            pipe.xadd(stream, {FIELD: REFUSED})
        await pipe.execute()


async def read_all(redis: Redis, stream: str) -> None:
    """Read and acknowledge everything new, as the journal does."""
    while found := stream_entries(
        await redis.xreadgroup(JOURNAL_GROUP, "w", {stream: ">"}, count=5_000)
    ):
        await redis.xack(stream, JOURNAL_GROUP, *(entry_id for entry_id, _ in found[0][1]))


async def rewrite_aof(redis: Redis) -> None:
    await redis.bgrewriteaof()

    async def done() -> bool:
        info = await redis.info("persistence")
        return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]

    await until(done, 30)


async def restarted_with_a_stale_counter(server: RedisServer, stream: str, read: int) -> Redis:
    """A group that has read ``read`` entries after an AOF rewrite; then Redis is killed and
    started again from its AOF. A client of the restarted server."""
    redis = Redis.from_url(server.url)
    await redis.xgroup_create(stream, JOURNAL_GROUP, id="0", mkstream=True)
    await add(redis, stream, 10)
    await read_all(redis, stream)
    await rewrite_aof(redis)
    await add(redis, stream, read)
    await read_all(redis, stream)
    await redis.aclose()
    await asyncio.to_thread(server.kill)
    await asyncio.to_thread(server.start)
    return Redis.from_url(server.url)


async def test_undelivered_after_a_restart_from_a_rewritten_aof_counts_what_is_really_left(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path / "redis") as server:
        redis = await restarted_with_a_stale_counter(server, "s", 500)
        caught_up = (await redis.xinfo_groups("s"))[0]
        counted_up = await undelivered(redis, "s", caught_up)
        await add(redis, "s", 7)
        seven_left = (await redis.xinfo_groups("s"))[0]
        counted_seven = await undelivered(redis, "s", seven_left)
        counted_capped = await undelivered(redis, "s", seven_left, cap=3)
        await redis.aclose()

    assert counted_up == 0
    assert counted_seven == 7
    assert counted_capped == seven_left["lag"]  # past the cap, Redis's figure stands
    # What Redis itself says, on a build with the stale counter (this machine's 7.0): the
    # figures above must not depend on it.
    assert caught_up["lag"] in (0, 500)


async def test_readyz_after_a_redis_restart_is_ready_when_the_journal_has_caught_up(
    database_url: str, tmp_path: Path
) -> None:
    streams = Streams(f"backlog:{secrets.token_hex(4)}:")
    read = JOURNAL_BEHIND_READY + 500
    with redis_server(tmp_path / "redis") as server:
        redis = await restarted_with_a_stale_counter(server, streams.records, read)
        async with running_gateway(redis, server.url, database_url, streams, tmp_path) as gw:
            ready = await gw.client.get("/readyz")
            scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            metrics = (await gw.client.get("/metrics", headers=scrape)).text
        await redis.aclose()

    assert ready.status_code == 200, ready.text
    assert "journal" not in ready.json()["checks"]
    pattern = rf'cryptocfd_consumer_behind{{group="journal",stream="{streams.records}"}} (\S+)'
    found = re.search(pattern, metrics)
    assert found is not None, metrics
    assert float(found.group(1)) == 0
