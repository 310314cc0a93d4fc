"""An account's order numbers come from the engine's state, so they go on without a gap or a
repeat when the leader is killed and its standby takes over, and when an engine restarts from
a snapshot: real engine processes, a real Redis, the numbers read back from the log."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import ClosePosition, OpenAccount, PlaceOrder, Side
from cryptocfd.trading.events import ORDER_EVENTS, Accepted, PositionOpened
from tests.integration.engine_clients import T0, engine_client
from tests.integration.engine_harness import publish_tick
from tests.integration.engine_process import EngineProcess
from tests.integration.servers import redis_server
from tests.integration.test_engine_failover import (
    KEY_HEX,
    TTL_MS,
    pair,
    standby_caught_up,
    stopped_at_the_end,
    wait_for,
)
from tests.waiting import until

ACCOUNT = 7


async def numbered(url: str, streams: Streams) -> list[int]:
    """The numbers the log gives the account's order events, in log order."""
    redis = Redis.from_url(url)
    records = [
        decode_record(fields[FIELD]) for _id, fields in entries(await redis.xrange(streams.records))
    ]
    await redis.aclose()
    numbers = []
    for record in records:
        if not record.applied or not isinstance(record.outcome, Accepted) or record.seqs is None:
            continue
        for event, seq in zip(record.outcome.events, record.seqs, strict=True):
            if isinstance(event, ORDER_EVENTS) and event.account_id == ACCOUNT:
                numbers.append(seq)
    return numbers


async def trade(client: EngineClient, n: int) -> None:
    """Open a BTC long and close it: two order events."""
    opened = await client.send(
        PlaceOrder(f"open-{n}", T0 + n, ACCOUNT, "BTC", Side.LONG, Cents(1_000), 2)
    )
    assert isinstance(opened, Accepted), opened
    (event,) = opened.events
    assert isinstance(event, PositionOpened)
    closed = await client.send(ClosePosition(f"close-{n}", T0 + n, ACCOUNT, event.order_id))
    assert isinstance(closed, Accepted), closed


async def quoted(url: str, streams: Streams) -> None:
    """A BTC quote at ``T0``, logged by the engine before any order is sent."""
    redis = Redis.from_url(url)
    before = await redis.xlen(streams.records)
    await publish_tick(
        redis, streams, Tick("BTC", PriceTicks(6_400_000), PriceTicks(6_401_000), T0)
    )

    async def logged() -> bool:
        return await redis.xlen(streams.records) > before

    await until(logged, 10)
    await redis.aclose()


async def test_order_numbers_when_the_leader_dies_and_an_engine_restarts_go_on_without_a_gap(
    tmp_path: Path,
) -> None:
    streams = Streams(f"seq:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        leader, standby = pair(server.url, streams, tmp_path, CRYPTOCFD_SNAPSHOT_EVERY_EVENTS="5")
        await asyncio.to_thread(leader.start)
        await asyncio.to_thread(standby.start, 20.0, "engine standby")
        with stopped_at_the_end(standby, leader):
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, ACCOUNT, Cents(1_000_000)))
                await quoted(server.url, streams)
                for n in range(1, 4):
                    await trade(client, n)  # numbers 1 to 6, on the leader
                await until(lambda: standby_caught_up(server.url, streams, 8), 10)
                leader.kill()
                await wait_for(standby, "engine ready")
                for n in range(4, 6):
                    await trade(client, n)  # 7 to 10, on the standby that took over
            # Killed too: the next engine restores the newest snapshot (one every 5 records)
            # and replays the records after it.
            standby.kill()
        restarted = EngineProcess(
            server.url,
            streams.prefix,
            tmp_path,
            KEY_HEX,
            "c.log",
            CRYPTOCFD_ENGINE_LEASE_TTL_MS=TTL_MS,
        )
        await asyncio.to_thread(restarted.start)
        with stopped_at_the_end(restarted):
            async with engine_client(server.url, streams) as client:
                await trade(client, 6)  # 11 and 12, from the restored snapshot
        numbers = await numbered(server.url, streams)

    assert numbers == list(range(1, 13))
    assert "restored" in restarted.log.read_text().lower()
