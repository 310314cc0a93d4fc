"""TradingView's UDF datafeed against the same stored candles ``/candles`` serves: the bars are
equal, bar for bar, and the protocol's config, symbols, search, time, no_data and errors are as
its documentation has them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import PriceTicks
from cryptocfd.market.candles import Candle
from cryptocfd.store.candles import write_candles
from cryptocfd.store.database import create_pool
from tests.integration.gateway_harness import Gateway, held, running_gateway

UDF = "/api/v1/udf"
Params = dict[str, str | int]
START = 1_767_225_600  # 2026-01-01T00:00:00Z, a Thursday
BIDS = [6_400_000, 6_410_050, 6_390_000, 6_405_000, 6_420_000, 6_415_000]


@pytest.fixture
async def charted(
    redis_client: Redis, redis_url: str, own_database_url: str, streams: Streams, tmp_path: Path
) -> AsyncIterator[Gateway]:
    """A gateway over a database holding six BTC minutes from ``START``."""
    pool = await create_pool(own_database_url)
    try:
        candles = [
            Candle(
                "BTC",
                START + 60 * n,
                PriceTicks(bid),
                PriceTicks(bid + 5_000),
                PriceTicks(bid - 5_000),
                PriceTicks(bid + 1_000),
                3 + n,
                1,
            )
            for n, bid in enumerate(BIDS)
        ]
        await write_candles(pool, candles)
    finally:
        await pool.close()
    running = running_gateway(redis_client, redis_url, own_database_url, streams, tmp_path)
    async with held(running) as gateway:
        yield gateway


async def test_history_when_asked_for_a_range_is_the_candles_bar_for_bar(charted: Gateway) -> None:
    params: Params = {"symbol": "BTC", "resolution": "1", "from": START, "to": START + 6 * 60}
    bars = (await charted.client.get(f"{UDF}/history", params=params)).json()
    candles = (
        await charted.client.get(
            "/api/v1/candles",
            params={"asset": "BTC", "interval": "1m", "from": START, "to": START + 300},
        )
    ).json()

    assert bars["s"] == "ok"
    assert bars["t"] == [c["time"] for c in candles] == [START + 60 * n for n in range(6)]
    for key, field in (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close")):
        assert [Decimal(str(x)) for x in bars[key]] == [Decimal(c[field]) for c in candles]
    assert bars["v"] == [c["volume"] for c in candles]


async def test_history_when_read_raw_writes_prices_as_their_exact_decimals(
    charted: Gateway,
) -> None:
    params: Params = {
        "symbol": "CRYPTOCFD:BTC",
        "resolution": "1",
        "from": START,
        "to": START + 120,
    }

    raw = (await charted.client.get(f"{UDF}/history", params=params)).text

    assert '"o":[64000.00,64100.50]' in raw  # the ticks' digits, never a float's


async def test_history_with_countback_and_coarser_resolutions_rolls_up_like_candles(
    charted: Gateway,
) -> None:
    back: Params = {
        "symbol": "BTC",
        "resolution": "1",
        "from": 0,
        "to": START + 360,
        "countback": 2,
    }
    hour: Params = {"symbol": "BTC", "resolution": "60", "from": START, "to": START + 3_600}
    day: Params = {"symbol": "BTC", "resolution": "D", "from": START, "to": START + 86_400}

    last_two = (await charted.client.get(f"{UDF}/history", params=back)).json()
    hours = (await charted.client.get(f"{UDF}/history", params=hour)).json()
    days = (await charted.client.get(f"{UDF}/history", params=day)).json()

    assert last_two["t"] == [START + 240, START + 300]
    assert hours["t"] == [START] and hours["o"] == [64000.0] and hours["c"] == [64160.0]
    assert days["t"] == [START] and days["h"] == [max(BIDS) / 100 + 50]


async def test_history_when_the_range_has_no_bar_says_no_data_and_the_nearest_before(
    charted: Gateway,
) -> None:
    later: Params = {"symbol": "BTC", "resolution": "1", "from": START + 3_600, "to": START + 7_200}
    earlier: Params = {
        "symbol": "BTC",
        "resolution": "1",
        "from": START - 7_200,
        "to": START - 3_600,
    }

    after = (await charted.client.get(f"{UDF}/history", params=later)).json()
    before = (await charted.client.get(f"{UDF}/history", params=earlier)).json()

    assert after == {"s": "no_data", "nextTime": START + 300}
    assert before == {"s": "no_data"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"symbol": "NOPE", "resolution": "1", "from": START, "to": START + 60}, "unknown_symbol"),
        ({"symbol": "BTC", "resolution": "2", "from": START, "to": START + 60}, "resolution"),
        ({"symbol": "BTC", "resolution": "1", "from": START, "to": START}, "before"),
    ],
)
async def test_history_when_asked_wrongly_is_the_protocols_error(
    charted: Gateway, params: Params, message: str
) -> None:
    answer = await charted.client.get(f"{UDF}/history", params=params)

    assert answer.status_code == 400
    assert answer.json()["s"] == "error" and message in answer.json()["errmsg"]


async def test_config_symbols_search_and_time_are_as_the_protocol_documents(
    charted: Gateway,
) -> None:
    config = (await charted.client.get(f"{UDF}/config")).json()
    btc = (await charted.client.get(f"{UDF}/symbols", params={"symbol": "btc"})).json()
    unknown = await charted.client.get(f"{UDF}/symbols", params={"symbol": "NOPE"})
    found = (await charted.client.get(f"{UDF}/search", params={"query": "ether"})).json()
    clock = await charted.client.get(f"{UDF}/time")

    assert config["supported_resolutions"] == ["1", "5", "15", "30", "60", "240", "1D", "1W"]
    assert config["supports_search"] and config["supports_time"]
    assert not config["supports_group_request"]
    assert (btc["name"], btc["pricescale"], btc["minmov"]) == ("BTC", 100, 1)
    assert (btc["session"], btc["timezone"], btc["has_intraday"]) == ("24x7", "Etc/UTC", True)
    assert unknown.status_code == 400 and unknown.json()["s"] == "error"
    assert [f["symbol"] for f in found] == ["ETH"]
    assert clock.headers["content-type"].startswith("text/plain")
    assert abs(int(clock.text) - time.time()) < 5
