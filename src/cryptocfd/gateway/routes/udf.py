"""``/udf``: TradingView's UDF datafeed, for a Charting Library pointed at this gateway. Reading
it needs no sign-in, as ``/candles`` does not."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from cryptocfd.gateway.deps import ResourcesDep
from cryptocfd.gateway.schemas import UdfBars, UdfConfig, UdfError, UdfFound, UdfNoData, UdfSymbol
from cryptocfd.gateway.usecases import udf
from cryptocfd.market.candles import MAX_LIMIT, MAX_TIME_S

UDF_REFUSAL = {400: ResponseSpec(UdfError, description="The protocol's error")}
Symbol = Annotated[str, QueryParameter(min_length=1, max_length=40, description="BTC")]
Seconds = Annotated[int, QueryParameter(ge=0, le=MAX_TIME_S, description="unix seconds")]


@get("/udf/config", summary="The datafeed's configuration")
async def config() -> UdfConfig:
    """Resolutions 1, 5, 15, 30, 60, 240, 1D and 1W; search, and the server's time."""
    return udf.config()


@get("/udf/symbols", responses=UDF_REFUSAL, summary="One symbol's information")
async def symbols(resources: ResourcesDep, symbol: Symbol) -> Response[UdfSymbol | UdfError]:
    """``pricescale`` and ``minmov`` give the asset's tick; the session is 24x7 in UTC."""
    try:
        return Response(udf.symbol(resources, symbol))
    except udf.UdfRefusal as refusal:
        return Response(refusal.body, status_code=400)


@get("/udf/search", summary="Symbols by ticker or name")
async def search(
    resources: ResourcesDep,
    text: Annotated[str, QueryParameter(name="query", max_length=40)] = "",
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 30,
) -> list[UdfFound]:
    """Every asset whose ticker or name holds ``query``, in any case."""
    return udf.search(resources, text, limit)


@get("/udf/time", media_type="text/plain", summary="The server's clock, in unix seconds")
async def time(resources: ResourcesDep) -> str:
    """Unix seconds as plain text, as the protocol has it."""
    return str(resources.clock.now_ms() // 1000)


@get("/udf/history", responses=UDF_REFUSAL, summary="Bars of the bid")
async def history(
    resources: ResourcesDep,
    symbol: Symbol,
    resolution: Annotated[str, QueryParameter(min_length=1, max_length=8)],
    start: Annotated[int, QueryParameter(name="from", ge=0, le=MAX_TIME_S)],
    to: Seconds,
    countback: Annotated[int | None, QueryParameter(ge=1, le=MAX_LIMIT)] = None,
) -> Response[UdfBars | UdfNoData | UdfError]:
    """The same bars as ``/candles`` from ``from`` (included) to ``to`` (not included), or
    the ``countback`` bars before ``to``; ``no_data`` with ``nextTime`` when there are none."""
    try:
        return Response(await udf.history(resources, symbol, resolution, start, to, countback))
    except udf.UdfRefusal as refusal:
        return Response(refusal.body, status_code=400)


ROUTES = [config, symbols, search, time, history]
