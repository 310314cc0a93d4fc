"""Builders for the journal's tests: a trading session on a real engine, a running journaler,
and a pool on the test's own database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import msgspec
from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits
from cryptocfd.core.tick import Tick
from cryptocfd.services.engine.service import EngineService
from cryptocfd.services.journaling import Journaler
from cryptocfd.store.database import create_pool
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Deposit,
    ModifyPosition,
    OpenAccount,
    OrderType,
    PlaceOrder,
    Side,
    Withdraw,
)
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.events import Accepted, OrderPlaced, PositionOpened
from tests.integration.engine_harness import publish_tick
from tests.waiting import until

T0 = 1_700_000_000_000
TRADER, WAITER, GAMBLER = 1, 2, 3  # closes in parts; has pending entries; gets liquidated


@dataclass
class Session:
    """The order ids of a trading session."""

    closed_in_parts: int = 0
    cancelled: int = 0
    filled: int = 0
    liquidated: int = 0


def _accepted(outcome: Outcome) -> Accepted:
    assert isinstance(outcome, Accepted), outcome
    return outcome


def _order_id(outcome: Outcome) -> int:
    event = _accepted(outcome).events[0]
    assert isinstance(event, OrderPlaced | PositionOpened)
    return event.order_id


async def quote_btc(
    redis: Redis, streams: Streams, service: EngineService, bid: int, ts: int
) -> None:
    """Quote BTC at ``bid`` (the ask 10.00 above) at ``ts``, once the engine has it."""
    epoch = service.engine.state.quote_epoch
    await publish_tick(redis, streams, Tick("BTC", PriceTicks(bid), PriceTicks(bid + 1_000), ts))
    await until(lambda: service.engine.state.quote_epoch > epoch)


async def trade_session(
    redis: Redis, streams: Streams, service: EngineService, client: EngineClient
) -> Session:
    """Three accounts trade BTC: opens, a modify, a partial and a full close, a cancelled and a
    filled entry, a rejected order, and a price drop that liquidates a 100x long."""
    s = Session()
    for account_id, cents in ((TRADER, 1_000_000), (WAITER, 500_000), (GAMBLER, 20_000)):
        _accepted(
            await client.send(OpenAccount(f"open-{account_id}", T0, account_id, Cents(cents)))
        )
    _accepted(await client.send(Deposit("dep", T0, TRADER, Cents(250_000))))
    _accepted(await client.send(Withdraw("wd", T0, WAITER, Cents(50_000))))
    await quote_btc(redis, streams, service, 6_000_000, T0 + 1)
    s.closed_in_parts = _order_id(
        await client.send(
            PlaceOrder(
                "buy",
                T0 + 2,
                TRADER,
                "BTC",
                Side.LONG,
                Cents(100_000),
                10,
                take_profit=PriceTicks(6_600_000),
            )
        )
    )
    _accepted(
        await client.send(
            ModifyPosition(
                "mod", T0 + 3, TRADER, s.closed_in_parts, stop_loss=PriceTicks(5_750_000)
            )
        )
    )
    limit = OrderType.LIMIT
    s.cancelled = _order_id(
        await client.send(
            PlaceOrder(
                "lim1",
                T0 + 3,
                WAITER,
                "BTC",
                Side.LONG,
                Cents(30_000),
                5,
                limit,
                PriceTicks(5_000_000),
            )
        )
    )
    s.filled = _order_id(
        await client.send(
            PlaceOrder(
                "lim2",
                T0 + 3,
                WAITER,
                "BTC",
                Side.LONG,
                Cents(40_000),
                20,
                limit,
                PriceTicks(5_960_000),
            )
        )
    )
    _accepted(await client.send(CancelOrder("cancel", T0 + 4, WAITER, s.cancelled)))
    s.liquidated = _order_id(
        await client.send(PlaceOrder("yolo", T0 + 4, GAMBLER, "BTC", Side.LONG, Cents(10_000), 100))
    )
    rejected = await client.send(
        PlaceOrder("big", T0 + 4, GAMBLER, "BTC", Side.LONG, Cents(10**9), 2)
    )
    assert not isinstance(rejected, Accepted)
    await quote_btc(redis, streams, service, 6_030_000, T0 + 5)
    _accepted(
        await client.send(ClosePosition("half", T0 + 6, TRADER, s.closed_in_parts, Bps(5_000)))
    )
    await quote_btc(redis, streams, service, 5_950_000, T0 + 7)  # liquidates and fills
    _accepted(await client.send(ClosePosition("rest", T0 + 8, TRADER, s.closed_in_parts)))
    return s


async def quantity_entries(
    redis: Redis, streams: Streams, service: EngineService, client: EngineClient
) -> tuple[int, int]:
    """TRADER's two BTC entries of 0.01 at 20x, sized by quantity, that fill away from their
    prices: a buy stop at 60,100.00 that the ask gaps past to 61,010.00, then a buy limit at
    60,500.00 that fills lower, at 59,910.00. Returns their order ids (stop, limit)."""
    _accepted(await client.send(OpenAccount("open-q", T0, TRADER, Cents(1_000_000))))
    await quote_btc(redis, streams, service, 6_000_000, T0 + 1)
    entries = []
    for name, order_type, price, ts in (
        ("stop-q", OrderType.STOP, 6_010_000, T0 + 2),
        ("limit-q", OrderType.LIMIT, 6_050_000, T0 + 4),
    ):
        order = PlaceOrder(name, ts, TRADER, "BTC", Side.LONG, Cents(0), 20, order_type)
        sized = msgspec.structs.replace(
            order, price=PriceTicks(price), quantity=QtyUnits(1_000_000)
        )
        entries.append(_order_id(await client.send(sized)))
        await quote_btc(redis, streams, service, 6_100_000 if ts == T0 + 2 else 5_990_000, ts + 1)
    stop, limit = entries
    return stop, limit


async def newest_record(redis: Redis, streams: Streams) -> str:
    """The id of the newest record on the stream."""
    newest = entries(await redis.xrevrange(streams.records, count=1))
    return newest[0][0].decode()


async def caught_up(pool: asyncpg.Pool, redis: Redis, streams: Streams) -> None:
    """Wait until the journal has booked the newest record."""
    record_id = await newest_record(redis, streams)
    query = "SELECT count(*) FROM journal_records WHERE record_id = $1"
    await until(lambda: pool.fetchval(query, record_id), why=f"the journal to book {record_id}")


@contextlib.asynccontextmanager
async def own_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on ``database_url``, closed afterwards."""
    pool = await create_pool(database_url, min_size=1, max_size=6)
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def running_journaler(
    redis: Redis, streams: Streams, pool: asyncpg.Pool
) -> AsyncIterator[Journaler]:
    """A journaler running in a background task until the block ends."""
    journaler = Journaler(redis, streams, pool)
    stopping = asyncio.Event()
    task = asyncio.create_task(journaler.run(stopping))
    try:
        yield journaler
    finally:
        stopping.set()
        await task
