"""TradingView's UDF datafeed over the candle store: the bars are ``/candles``'s, in the shape
TradingView's Charting Library reads (``/config``, ``/symbols``, ``/search``, ``/time``,
``/history``).

Prices go out as JSON numbers, the Charting Library's format, written from their decimal text
(``msgspec.Raw``): no float stands between a stored tick and the number a chart draws.
"""

from __future__ import annotations

import msgspec

from cryptocfd.core.assets import AssetSpec
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import (
    UdfBars,
    UdfConfig,
    UdfError,
    UdfExchange,
    UdfFound,
    UdfNoData,
    UdfSymbol,
)
from cryptocfd.gateway.usecases.market import candles
from cryptocfd.market.candles import MAX_LIMIT

EXCHANGE = "CRYPTOCFD"
# TradingView's resolutions, and the candle interval each is.
RESOLUTIONS = {
    "1": "1m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "240": "4h",
    "1D": "1d",
    "1W": "1w",
}
ALIASES = {"D": "1D", "W": "1W"}  # the older spellings the library may still send
INTRADAY = ["1", "5", "15", "30", "60", "240"]


class UdfRefusal(Exception):  # noqa: N818 - answered as the protocol's error
    """A request the datafeed answers with ``{"s": "error", "errmsg": ...}`` and a 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.body = UdfError("error", message)


def config() -> UdfConfig:
    """What the datafeed supports."""
    return UdfConfig(
        supported_resolutions=list(RESOLUTIONS),
        supports_search=True,
        supports_group_request=False,
        supports_marks=False,
        supports_timescale_marks=False,
        supports_time=True,
        exchanges=[UdfExchange(EXCHANGE, "CryptoCFD", "CryptoCFD house quotes")],
        symbols_types=[UdfExchange("crypto", "crypto", "Crypto CFDs")],
    )


def symbol(resources: Resources, name: str) -> UdfSymbol:
    """The symbol ``name`` (``BTC`` or ``CRYPTOCFD:BTC``), or ``UdfRefusal``."""
    return _symbol_info(_spec(resources, name))


def search(resources: Resources, query: str, limit: int) -> list[UdfFound]:
    """The symbols whose ticker or name holds ``query`` (any case), at most ``limit``."""
    wanted = query.strip().upper()
    found = [
        UdfFound(
            symbol=spec.symbol,
            full_name=f"{EXCHANGE}:{spec.symbol}",
            description=_description(spec),
            exchange=EXCHANGE,
            ticker=spec.symbol,
            type="crypto",
        )
        for spec in resources.assets.values()
        if wanted in spec.symbol.upper() or wanted in spec.name.upper()
    ]
    return found[:limit]


async def history(
    resources: Resources,
    name: str,
    resolution: str,
    start: int,
    to: int,
    countback: int | None,
) -> UdfBars | UdfNoData:
    """The bars of ``[start, to)`` (or the ``countback`` bars before ``to``), oldest first;
    with none there, ``no_data`` and the time of the nearest bar before ``start``."""
    spec = _spec(resources, name)
    interval = RESOLUTIONS.get(ALIASES.get(resolution, resolution))
    if interval is None:
        raise UdfRefusal(f"unsupported resolution {resolution!r}: one of {', '.join(RESOLUTIONS)}")
    if to <= start and countback is None:
        raise UdfRefusal("from must be before to")
    last = to - 1  # UDF's `to` is not included
    rows = []
    if last >= 0 and countback is not None:
        rows = await candles(resources, spec.symbol, interval, None, last, countback)
    elif last >= 0:
        rows = await candles(resources, spec.symbol, interval, start, last, MAX_LIMIT)
    if not rows:
        earliest = start if countback is None else to
        before = (
            []
            if earliest <= 0
            else await candles(resources, spec.symbol, interval, None, earliest - 1, 1)
        )
        return UdfNoData("no_data", before[-1].time if before else None)
    return UdfBars(
        s="ok",
        t=[row.time for row in rows],
        o=[_number(row.open) for row in rows],
        h=[_number(row.high) for row in rows],
        l=[_number(row.low) for row in rows],
        c=[_number(row.close) for row in rows],
        v=[row.volume for row in rows],
    )


def _number(decimal: str) -> msgspec.Raw:
    return msgspec.Raw(decimal.encode())  # "64250.50" is a JSON number as it stands


def _spec(resources: Resources, name: str) -> AssetSpec:
    ticker = name.strip().upper().removeprefix(f"{EXCHANGE}:")
    spec = resources.assets.get(ticker)
    if spec is None:
        raise UdfRefusal(f"unknown_symbol {name!r}")
    return spec


def _description(spec: AssetSpec) -> str:
    return f"{spec.name} / US dollar CFD"


def _symbol_info(spec: AssetSpec) -> UdfSymbol:
    # One tick of the asset's price: pricescale 10^decimals, minmov 1 (so "0.01" for BTC).
    return UdfSymbol(
        name=spec.symbol,
        ticker=spec.symbol,
        full_name=f"{EXCHANGE}:{spec.symbol}",
        description=_description(spec),
        type="crypto",
        session="24x7",
        exchange=EXCHANGE,
        listed_exchange=EXCHANGE,
        timezone="Etc/UTC",
        format="price",
        pricescale=10**spec.price_decimals,
        minmov=1,
        has_intraday=True,
        has_daily=True,
        has_weekly_and_monthly=True,
        intraday_multipliers=INTRADAY,
        supported_resolutions=list(RESOLUTIONS),
        volume_precision=0,
        data_status="streaming",
        currency_code="USD",
    )
