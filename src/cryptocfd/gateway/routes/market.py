"""Market data: the assets one can trade, their newest house quotes, 24-hour changes and
candles of the bid. Reading them needs no sign-in."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.params import FromQuery, QueryParameter

from cryptocfd.gateway.deps import Caller, ResourcesDep
from cryptocfd.gateway.live_schemas import CandleOut, QuoteOut
from cryptocfd.gateway.schemas import AssetOut, MarketOut, RefreshOut, ServerTimeOut
from cryptocfd.gateway.usecases import market


@get("/time", summary="The server's clock")
async def server_time(resources: ResourcesDep) -> ServerTimeOut:
    """Unix milliseconds now: sign requests with a timestamp inside their window of it."""
    return ServerTimeOut(resources.clock.now_ms())


@get("/supportedAssets", summary="Tradable assets")
async def supported_assets(resources: ResourcesDep) -> list[AssetOut]:
    """Every asset, with its decimals and leverage bounds."""
    return market.supported_assets(resources)


@get("/prices/latest", summary="Newest house quotes")
async def latest_prices(resources: ResourcesDep) -> list[QuoteOut]:
    """Bid and ask with the house markup, and the mark (the feed's mid), per asset; ``ts``
    is the quote's unix milliseconds. Assets with no quote yet are absent."""
    return market.latest_prices(resources)


@get("/markets", summary="Every asset's change over 24 hours")
async def markets(resources: ResourcesDep) -> list[MarketOut]:
    """Per asset, the house bid, the stored bid 24 hours ago (or at the start of a younger
    history) and the exact change between them; null fields are not known yet."""
    return await market.markets(resources)


@get("/candles", summary="Candles of the bid")
async def candles(
    resources: ResourcesDep,
    asset: FromQuery[str],
    interval: FromQuery[str] = "1m",
    start: Annotated[int | None, QueryParameter(name="from")] = None,
    to: FromQuery[int | None] = None,
    limit: FromQuery[int] = 500,
) -> list[CandleOut]:
    """Stored history merged with the live minute, oldest first. ``from``/``to`` are unix
    seconds (bucket starts, both included); without ``from``, the newest ``limit`` (at most
    5,000). Intervals: 1m 5m 15m 30m 1h 4h 1d 1w."""
    return await market.candles(resources, asset, interval, start, to, limit)


@post("/candles/refresh", status_code=200, summary="Refresh the candle aggregates")
async def refresh_candles(resources: ResourcesDep, principal: Caller) -> RefreshOut:
    """Bring every rollup (5m to 1w) up to date with the stored one-minute candles."""
    del principal  # any signed-in user may ask; the work is idempotent
    return await market.refresh_candles(resources)


ROUTES = [server_time, supported_assets, latest_prices, markets, candles]
PRIVATE_ROUTES = [refresh_candles]
