"""The markets list: every asset's house bid now and its change over 24 hours.

The price 24 hours ago comes from the candle store (the bid charts are drawn from), the bid from
the gateway's newest house quote; the change is their exact difference in ticks. A percentage
for display is the browser's to compute from the two prices.
"""

from __future__ import annotations

import asyncpg
import msgspec

from cryptocfd.gateway.live import LiveHub
from cryptocfd.gateway.present import price
from cryptocfd.store.candles import prices_at

DAY_S = 86_400


class MarketOut(msgspec.Struct, frozen=True):
    """An asset's bid and its change over 24 hours.

    ``price_24h`` is the stored bid at ``price_24h_time`` (unix seconds): 24 hours ago, or the
    start of the history when that is younger. ``change_24h`` is ``bid - price_24h``. Each is
    null until known: the bid before the first quote, the rest before the first candle.
    """

    asset: str
    bid: str | None
    price_24h: str | None
    price_24h_time: int | None
    change_24h: str | None


async def markets_24h(pool: asyncpg.Pool, live: LiveHub, now_s: int) -> list[MarketOut]:
    """Every asset's entry in the markets list at ``now_s``, by symbol."""
    past = await prices_at(pool, live.assets.keys(), now_s - DAY_S)
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
