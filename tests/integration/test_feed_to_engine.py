"""The Binance feed into the engine: the right ticks reach it, a silence halts trading on the
asset (``PRICE_STALE``), and trading resumes when fresh ticks return."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import Cents
from cryptocfd.market.binance import BinanceMarkets
from cryptocfd.services.backoff import Backoff
from cryptocfd.services.feed import FeedService, relay
from cryptocfd.services.sources.binance import BinanceSource
from cryptocfd.trading.commands import OpenAccount, PlaceOrder, Side
from cryptocfd.trading.events import Accepted, PositionOpened
from cryptocfd.trading.rejections import RejectCode, Rejection
from tests.integration.engine_harness import engine_and_client, store_in
from tests.integration.test_feed_source_binance import fake_binance, quote, sends, silent
from tests.waiting import until

BTC = next(spec for spec in DEFAULT_ASSETS if spec.symbol == "BTC")


async def test_binance_feed_when_it_goes_silent_halts_the_asset_and_resumes_after(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    first = sends(
        quote("BTCUSDT", "64000.001", "64010.009"),  # toward the house: 64000.00 / 64010.01
        "{not json",
        quote("NOPEUSDT", "1", "2"),
        quote("BTCUSDT", "64000.00", "63000.00"),  # crossed: refused
        then=silent,
    )
    resumed = sends(quote("BTCUSDT", "64100.00", "64110.00"))
    gate = asyncio.Event()

    async def after_gate(connection: object) -> None:
        await gate.wait()
        await resumed(connection)  # type: ignore[arg-type]

    async with (
        fake_binance([first, after_gate]) as (_fake, url),
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
    ):
        source = BinanceSource(
            BinanceMarkets(DEFAULT_ASSETS), url, silence_s=0.3, backoff=Backoff(0.05, 0.2)
        )
        feed = FeedService(redis_client, streams)
        relaying = asyncio.create_task(relay(feed, source))
        state = service.engine.state.assets["BTC"]
        await until(lambda: state.quote is not None)
        quoted = state.quote
        assert quoted is not None
        first_ts, first_mark = quoted.ts, quoted.mark  # the quote object changes in place
        await client.send(OpenAccount("acc", first_ts, 1, Cents(1_000_000)))
        # The feed goes quiet: an order placed past BTC's staleness limit is refused.
        late = first_ts + BTC.staleness_ms + 1
        halted = await client.send(PlaceOrder("late", late, 1, "BTC", Side.LONG, Cents(10_000), 10))
        gate.set()  # the next connection speaks again
        await until(lambda: state.quote is not None and state.quote.ts > first_ts, 10)
        fresh = state.quote
        assert fresh is not None
        resumed_order = await client.send(
            PlaceOrder("again", fresh.ts + 1, 1, "BTC", Side.LONG, Cents(10_000), 10)
        )
        feed.stopping.set()
        await relaying

    assert first_mark == (6_400_000 + 6_401_001) // 2  # the mid of the rounded quote
    assert isinstance(halted, Rejection)
    assert halted.code is RejectCode.PRICE_STALE
    assert isinstance(resumed_order, Accepted)
    assert isinstance(resumed_order.events[0], PositionOpened)
    assert source.stats.ticks >= 2
    assert source.stats.silences >= 1
