"""Market data: the assets one can trade and their newest house quotes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from cryptocfd.core.money import format_scaled
from cryptocfd.gateway.live import QuoteOut
from cryptocfd.gateway.resources import resources_of


class AssetOut(msgspec.Struct, frozen=True):
    """A tradable asset and its limits."""

    symbol: str
    name: str
    price_decimals: int
    quantity_decimals: int
    max_leverage: int
    maintenance_margin: str  # a fraction of the margin, e.g. "0.5000"


@get("/supportedAssets", summary="Tradable assets")
async def supported_assets(request: Request[Any, Any, Any]) -> list[AssetOut]:
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
        for spec in resources_of(request.app).assets.values()
    ]


@get("/prices/latest", summary="Newest house quotes")
async def latest_prices(request: Request[Any, Any, Any]) -> list[QuoteOut]:
    """Bid and ask with the house markup, and the mark (the feed's mid), per asset; ``ts``
    is the quote's unix milliseconds. Assets with no quote yet are absent."""
    live = resources_of(request.app).live
    return [live.latest[symbol] for symbol in sorted(live.latest)]


ROUTES = [supported_assets, latest_prices]
