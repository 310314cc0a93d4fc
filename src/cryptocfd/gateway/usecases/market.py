"""Market data: the assets one can trade, their newest house quotes, their change over 24
hours, and candles of the bid.

The price 24 hours ago comes from the candle store (the bid charts are drawn from), the bid from
the gateway's newest house quote; the change is their exact difference in ticks. A percentage
for display is the browser's to compute from the two prices.
"""

from __future__ import annotations

from cryptocfd.core.money import format_scaled
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.live import candle_out
from cryptocfd.gateway.live_schemas import CandleOut, QuoteOut
from cryptocfd.gateway.present import price
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import AssetOut, MarketOut, RefreshOut
from cryptocfd.market.candles import CandleQueryError, merge_open_candle
from cryptocfd.store.candles import prices_at, query_candles, refresh_aggregates

DAY_S = 86_400


def supported_assets(resources: Resources) -> list[AssetOut]:
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


def latest_prices(resources: Resources) -> list[QuoteOut]:
    """The newest house quote of every asset that has one, by symbol."""
    live = resources.live
    return [live.latest[symbol] for symbol in sorted(live.latest)]


async def markets(resources: Resources) -> list[MarketOut]:
    """Every asset's entry in the markets list now, by symbol."""
    live = resources.live
    now_s = resources.clock.now_ms() // 1000
    past = await prices_at(resources.pool, live.assets.keys(), now_s - DAY_S)
    markets = []
    for symbol, spec in sorted(live.assets.items()):
        asset = live.quoting.assets.get(symbol)
        bid = None if asset is None or asset.quote is None else asset.quote.bid
        then = past.get(symbol)
        markets.append(
            MarketOut(
                symbol,
                None if bid is None else price(bid, spec),
                None if then is None else price(then[1], spec),
                None if then is None else then[0],
                None if bid is None or then is None else price(bid - then[1], spec),
            )
        )
    return markets


async def candles(
    resources: Resources, asset: str, interval: str, start: int | None, to: int | None, limit: int
) -> list[CandleOut]:
    """Stored history merged with the live minute, oldest first; a 400 for a bad query."""
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


async def refresh_candles(resources: Resources) -> RefreshOut:
    """Bring every rollup (5m to 1w) up to date with the stored one-minute candles."""
    return RefreshOut(refreshed_ranges=await refresh_aggregates(resources.pool))
