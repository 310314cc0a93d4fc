"""Market data: the assets one can trade and their newest house quotes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get, post
from litestar.params import FromQuery, QueryParameter

from cryptocfd.core.money import format_scaled
from cryptocfd.gateway.deps import Caller, ResourcesDep
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.live import candle_out
from cryptocfd.gateway.live_schemas import CandleOut, QuoteOut
from cryptocfd.gateway.ticker import MarketOut, markets_24h
from cryptocfd.market.candles import CandleQueryError, merge_open_candle
from cryptocfd.store.candles import query_candles, refresh_aggregates


class AssetOut(msgspec.Struct, frozen=True):
    """A tradable asset and its limits."""

    symbol: str
    name: str
    price_decimals: int
    quantity_decimals: int
    max_leverage: int
    maintenance_margin: str  # a fraction of the margin, e.g. "0.5000"


@get("/supportedAssets", summary="Tradable assets")
async def supported_assets(resources: ResourcesDep) -> list[AssetOut]:
    """Every asset, with its decimals and leverage bounds."""
    return [
        AssetOut(
            spec.symbol,
            spec.name,
            spec.price_decimals,
            spec.quantity_decimals,
            spec.max_leverage,
            format_scaled(spec.maintenance_bps, 4),
        )
        for spec in resources.assets.values()
    ]


@get("/prices/latest", summary="Newest house quotes")
async def latest_prices(resources: ResourcesDep) -> list[QuoteOut]:
    """Bid and ask with the house markup, and the mark (the feed's mid), per asset; ``ts``
    is the quote's unix milliseconds. Assets with no quote yet are absent."""
    live = resources.live
    return [live.latest[symbol] for symbol in sorted(live.latest)]


@get("/markets", summary="Every asset's change over 24 hours")
async def markets(resources: ResourcesDep) -> list[MarketOut]:
    """Per asset, the house bid, the stored bid 24 hours ago (or at the start of a younger
    history) and the exact change between them; null fields are not known yet."""
    now_s = resources.clock.now_ms() // 1000
    return await markets_24h(resources.pool, resources.live, now_s)


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
    try:
        rows = await query_candles(
            resources.pool, asset, interval, start, to, limit, assets=resources.assets.keys()
        )
    except CandleQueryError as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    spec = resources.assets[asset]
    live = resources.live.candles.open_candle(asset)
    if live is not None and (to is None or live.time_s <= to):
        rows = merge_open_candle(rows, live, interval)[-limit:]
    return [candle_out(row, spec) for row in rows]


@post("/candles/refresh", status_code=200, summary="Refresh the candle aggregates")
async def refresh_candles(resources: ResourcesDep, principal: Caller) -> RefreshOut:
    """Bring every rollup (5m to 1w) up to date with the stored one-minute candles."""
    del principal  # any signed-in user may ask; the work is idempotent
    ranges = await refresh_aggregates(resources.pool)
    return RefreshOut(refreshed_ranges=ranges)


class RefreshOut(msgspec.Struct, frozen=True):
    """How many pending ranges the refresh folded in."""

    refreshed_ranges: int


ROUTES = [supported_assets, latest_prices, markets, candles]
PRIVATE_ROUTES = [refresh_candles]
