"""The Binance source against a local websocket server speaking Binance's bookTicker format:
good ticks through, bad messages counted and skipped, silence and disconnects survived."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager

import msgspec
import pytest
from websockets.asyncio.server import ServerConnection, serve

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.clock import WALL, Clock, ManualClock
from cryptocfd.core.tick import Tick
from cryptocfd.market.binance import BinanceMarkets, RefusalKind
from cryptocfd.services.backoff import Backoff
from cryptocfd.services.sources.binance import BinanceSource
from tests.integration.servers import free_port
from tests.waiting import until

BTC = AssetSpec("BTC", "Bitcoin", 2, 6, 100, staleness_ms=400)
ETH = AssetSpec("ETH", "Ethereum", 2, 5, 100, staleness_ms=400)
MARKETS = BinanceMarkets((BTC, ETH))
FAST = Backoff(first_s=0.05, cap_s=0.2)

Script = Callable[[ServerConnection], Awaitable[None]]


def quote(symbol: str, bid: str, ask: str) -> str:
    data = {"u": 1, "s": symbol, "b": bid, "B": "1.0", "a": ask, "A": "1.0"}
    return msgspec.json.encode({"stream": f"{symbol.lower()}@bookTicker", "data": data}).decode()


async def silent(connection: ServerConnection) -> None:
    """Say nothing until the client hangs up."""
    await connection.wait_closed()


def sends(*messages: str, then: Script = silent) -> Script:
    async def script(connection: ServerConnection) -> None:
        for message in messages:
            await connection.send(message)
        await then(connection)

    return script


async def drops(connection: ServerConnection) -> None:
    """Cut the TCP connection without a closing handshake."""
    connection.transport.abort()


class FakeBinance:
    """A local server that plays one script per connection, the last one for any beyond."""

    def __init__(self, scripts: Sequence[Script]) -> None:
        self.scripts = scripts
        self.paths: list[str] = []

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.paths.append(connection.request.path)
        await self.scripts[min(len(self.paths), len(self.scripts)) - 1](connection)


@asynccontextmanager
async def fake_binance(
    scripts: Sequence[Script], port: int = 0
) -> AsyncIterator[tuple[FakeBinance, str]]:
    fake = FakeBinance(scripts)
    async with serve(fake.handle, "127.0.0.1", port) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        yield fake, f"ws://127.0.0.1:{bound}"


def source(url: str, *, silence_s: float = 5.0, clock: Clock = WALL) -> BinanceSource:
    return BinanceSource(
        MARKETS, url, silence_s=silence_s, backoff=FAST, clock=clock, rng=random.Random(1)
    )


async def take(ticks: AsyncIterator[Tick], count: int, within_s: float = 5.0) -> list[Tick]:
    async with asyncio.timeout(within_s):
        return [await anext(ticks) for _ in range(count)]


def _failed_connections(caplog: pytest.LogCaptureFixture) -> int:
    return sum("binance: connection to" in r.getMessage() for r in caplog.records)


async def test_binance_source_when_messages_are_good_and_bad_yields_only_good_ticks() -> None:
    script = sends(
        quote("BTCUSDT", "97000.011", "97000.019"),
        "not json at all",
        '{"result":null,"id":1}',
        quote("ADAUSDT", "0.9", "0.91"),
        quote("ETHUSDT", "3400.10", "3400.00"),  # crossed
        '{"stream":"ethusdt@bookTicker","data":{"s":"ETHUSDT","b":"1e3","a":"3400.2"}}',
        quote("ETHUSDT", "3400.10", "3400.20"),
    )
    async with fake_binance([script]) as (fake, url):
        feed = source(url)
        async with aclosing(feed.ticks()) as ticks:
            got = await take(ticks, 2)

    assert [(t.asset, t.bid, t.ask) for t in got] == [
        ("BTC", 9_700_001, 9_700_002),
        ("ETH", 340_010, 340_020),
    ]
    assert got[0].ts <= got[1].ts
    assert fake.paths == ["/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"]
    assert feed.stats.malformed == 2
    assert feed.stats.refused[RefusalKind.UNKNOWN_SYMBOL] == 1
    assert feed.stats.refused[RefusalKind.BAD_QUOTE] == 1
    assert feed.stats.refused[RefusalKind.CONTROL] == 1


async def test_binance_source_when_the_server_goes_silent_reconnects_and_resumes() -> None:
    first = sends(quote("BTCUSDT", "1.00", "1.01"))  # then silence
    second = sends(quote("BTCUSDT", "2.00", "2.01"))
    async with fake_binance([first, second]) as (fake, url):
        feed = source(url, silence_s=0.3)
        async with aclosing(feed.ticks()) as ticks:
            got = await take(ticks, 2)

    assert [t.bid for t in got] == [100, 200]
    assert feed.stats.silences == 1
    assert feed.stats.connects == 2
    assert len(fake.paths) == 2


async def test_binance_source_when_the_server_drops_the_connection_backs_off_and_resumes() -> None:
    first = sends(quote("BTCUSDT", "1.00", "1.01"), then=drops)
    async with fake_binance([first, drops, drops, sends(quote("ETHUSDT", "3.00", "3.01"))]) as (
        fake,
        url,
    ):
        feed = source(url)
        loop = asyncio.get_running_loop()
        async with aclosing(feed.ticks()) as ticks:
            await take(ticks, 1)
            dropped_at = loop.time()
            resumed = await take(ticks, 1)
            waited = loop.time() - dropped_at

    assert resumed[0].asset == "ETH"
    assert len(fake.paths) == 4
    assert feed.stats.silences == 0
    # Three waits of at least half of 0.05, 0.1 and 0.2 seconds: the backoff grew.
    assert waited >= (0.05 + 0.1 + 0.2) / 2


async def test_binance_source_when_the_server_is_down_at_first_retries_until_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    feed = source(f"ws://127.0.0.1:{port}")
    async with aclosing(feed.ticks()) as ticks:
        pending = asyncio.ensure_future(take(ticks, 1))
        await until(lambda: _failed_connections(caplog) >= 3)  # refused, and tried again twice
        assert not pending.done()
        async with fake_binance([sends(quote("BTCUSDT", "1.00", "1.01"))], port):
            got = await pending

    assert got[0].bid == 100


async def test_binance_source_when_the_server_pings_answers_with_a_pong() -> None:
    latency: list[float] = []

    async def pings(connection: ServerConnection) -> None:
        await connection.send(quote("BTCUSDT", "1.00", "1.01"))
        latency.append(await asyncio.wait_for(await connection.ping(), 2))
        await connection.send(quote("BTCUSDT", "2.00", "2.01"))
        await connection.wait_closed()

    async with fake_binance([pings]) as (_, url), aclosing(source(url).ticks()) as ticks:
        got = await take(ticks, 2)

    assert [t.bid for t in got] == [100, 200]
    assert len(latency) == 1


async def test_binance_source_when_quotes_stop_marks_assets_stale_until_they_return() -> None:
    gate = asyncio.Event()

    async def quiet_then_again(connection: ServerConnection) -> None:
        await connection.send(quote("BTCUSDT", "1.00", "1.01"))
        await gate.wait()
        await connection.send(quote("BTCUSDT", "2.00", "2.01"))
        await connection.wait_closed()

    clock = ManualClock()
    async with fake_binance([quiet_then_again]) as (_, url):
        feed = source(url, clock=clock)
        assert feed.stale_assets() == {"BTC", "ETH"}
        async with aclosing(feed.ticks()) as ticks:
            await take(ticks, 1)
            assert feed.stale_assets() == {"ETH"}
            clock.advance(500)  # past BTC's 400 ms staleness limit
            assert feed.stale_assets() == {"BTC", "ETH"}
            gate.set()
            await take(ticks, 1)
            assert feed.stale_assets() == {"ETH"}


async def test_binance_source_when_stopped_ends_its_ticks_without_reconnecting() -> None:
    async with fake_binance([sends(quote("BTCUSDT", "1.00", "1.01"))]) as (fake, url):
        feed = source(url)
        ticks = feed.ticks()
        await take(ticks, 1)
        feed.stop()
        async with asyncio.timeout(2):
            rest = [tick async for tick in ticks]

    assert rest == []
    assert len(fake.paths) == 1


async def test_binance_source_when_its_task_is_cancelled_closes_the_connection() -> None:
    closed = asyncio.Event()

    async def watched(connection: ServerConnection) -> None:
        await connection.send(quote("BTCUSDT", "1.00", "1.01"))
        await connection.wait_closed()
        closed.set()

    async with fake_binance([watched]) as (_, url):
        feed = source(url)
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in feed.ticks():
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.wait_for(closed.wait(), 3)

    assert task.cancelled()
