"""The ccxt exchange class (``clients/ccxt``) with the real ccxt library against a running
platform: every supported method, through both the sync and the async class, each error
mapping with a real refusal, and the README's bot exactly as the README has it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import httpx
import pytest
import redis

import cryptocfd_ccxt
import cryptocfd_ccxt.async_support
from tests.e2e.platform import child
from tests.integration.ccxt_platform import (
    CANDLES_START,
    api_key,
    fresh_quotes,
    signed_in,
    store_candles,
)
from tests.integration.platform_process import Platform, running_platform
from tests.integration.postgres import fresh_database
from tests.waiting import until

BTC = "BTC/USD:USD"
ETH = "ETH/USD:USD"
PER_USER_PER_MIN = 40  # trading writes: each test's user makes fewer, but for the limit's test
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def database_of_module() -> Iterator[str]:
    """A database of this module's own, holding the candles it reads."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def platform(
    redis_url: str, database_of_module: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """An engine, a gateway and a worker process, with fresh BTC and ETH quotes all along."""
    asyncio.run(store_candles(database_of_module))
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    state = Path(tmp_path_factory.mktemp("ccxt"))
    env = {
        "CRYPTOCFD_RATE_PER_IP_PER_MIN": "100000",
        "CRYPTOCFD_LOGINS_PER_IP_PER_MIN": "100000",
        "CRYPTOCFD_RATE_PER_USER_PER_MIN": str(PER_USER_PER_MIN),
    }
    client = redis.Redis.from_url(redis_url)
    try:
        with running_platform(redis_url, database_of_module, prefix, state, **env) as running:
            # The worker journals what ends (closes, cancels): the history ccxt reads.
            worker_env = {
                **{name: value for name, value in os.environ.items() if name != "SMTP_HOST"},
                "REDIS_URL": redis_url,
                "DATABASE_URL": database_of_module,
                "CRYPTOCFD_REDIS_PREFIX": prefix,
                "CRYPTOCFD_STATE_DIR": str(state),
                "CRYPTOCFD_PUBLIC_URL": running.base_url,
                "CRYPTOCFD_ENV": "dev",
            }
            with (
                child("worker", "worker ready", worker_env, state),
                fresh_quotes(redis_url, prefix),
            ):
                yield running
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


class Exchange:
    """One of the two classes, called alike: ``await exchange("fetch_ticker", BTC)``."""

    def __init__(self, instance: Any, *, asynchronous: bool) -> None:
        self.instance = instance
        self.asynchronous = asynchronous

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.instance, method)(*args, **kwargs)
        return (await result) if self.asynchronous else result

    async def once_booked(self, method: str, *args: Any) -> Any:
        """``method``'s answer once the worker has journaled the order it reads: for the
        moment between an order's end and its booking the platform answers 503, which is
        ``ExchangeNotAvailable``, and an empty history."""

        async def probe() -> Any:
            try:
                return await self(method, *args)
            except ccxt.ExchangeNotAvailable:
                return None

        return await until(probe, why=f"{method}{args} to answer once booked")


def api_root(platform: Platform) -> str:
    return f"{platform.base_url}/api/v1"


@contextlib.asynccontextmanager
async def opened(
    platform: Platform, kind: str, key: dict[str, Any], **config: Any
) -> AsyncIterator[Exchange]:
    """The ``kind`` class (sync or async) signed with ``key``; ccxt's own throttle off, since
    the platform's limits are the ones under test."""
    options = {
        "apiKey": key["api_key"],
        "secret": key["secret"],
        "urls": {"api": api_root(platform)},
        "enableRateLimit": False,
        **config,
    }
    if kind == "sync":
        yield Exchange(cryptocfd_ccxt.cryptocfd(options), asynchronous=False)
        return
    instance = cryptocfd_ccxt.async_support.cryptocfd(options)
    try:
        yield Exchange(instance, asynchronous=True)
    finally:
        await instance.close()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Each test runs once with each class."""
    name: str = request.param
    return name


@pytest.fixture
async def headers(platform: Platform, database_of_module: str) -> dict[str, str]:
    """A new user, signed in: a demo account of 10,000.00 USD."""
    return await signed_in(platform, database_of_module)


@pytest.fixture
async def key(platform: Platform, headers: dict[str, str]) -> dict[str, Any]:
    """That user's read and trade key."""
    return await api_key(platform, headers)


@pytest.fixture
async def exchange(platform: Platform, kind: str, key: dict[str, Any]) -> AsyncIterator[Exchange]:
    """The class under test, signed with the user's key."""
    async with opened(platform, kind, key) as ready:
        yield ready


def public(platform: Platform, path: str, **query: Any) -> Any:
    """A public route's JSON, read straight from the platform."""
    answer = httpx.get(f"{api_root(platform)}{path}", params=query, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


MARGIN_ORDER = {"margin": "100.00", "leverage": 10}


def test_describe_when_read_names_the_methods_timeframes_and_credentials() -> None:
    exchange = cryptocfd_ccxt.cryptocfd()
    supported = [
        "fetchTime",
        "fetchMarkets",
        "fetchTicker",
        "fetchTickers",
        "fetchOHLCV",
        "fetchBalance",
        "createOrder",
        "cancelOrder",
        "fetchOrder",
        "fetchOpenOrders",
        "fetchClosedOrders",
        "fetchPositions",
        "closePosition",
    ]

    assert [name for name in supported if exchange.has[name] is not True] == []
    assert exchange.has["fetchOrderBook"] is False and exchange.has["swap"] is True
    assert list(exchange.timeframes) == ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]
    assert exchange.requiredCredentials["apiKey"] and exchange.requiredCredentials["secret"]
    assert exchange.urls["api"] == "http://127.0.0.1:8000/api/v1"
    assert issubclass(cryptocfd_ccxt.cryptocfd, ccxt.Exchange)
    assert issubclass(cryptocfd_ccxt.async_support.cryptocfd, ccxt.async_support.Exchange)


async def test_fetch_time_when_asked_is_the_servers_clock(exchange: Exchange) -> None:
    before = time.time_ns() // 1_000_000

    server_time = await exchange("fetch_time")

    assert before - 1_000 <= server_time <= time.time_ns() // 1_000_000 + 1_000


async def test_fetch_markets_when_loaded_are_linear_usd_swaps_at_the_assets_precision(
    exchange: Exchange, platform: Platform
) -> None:
    assets = public(platform, "/supportedAssets")

    markets = {market["id"]: market for market in await exchange("fetch_markets")}

    assert set(markets) == {asset["symbol"] for asset in assets}
    for asset in assets:
        market = markets[asset["symbol"]]
        assert market["symbol"] == f"{asset['symbol']}/USD:USD"
        assert (market["type"], market["swap"], market["spot"]) == ("swap", True, False)
        assert (market["linear"], market["inverse"], market["contract"]) == (True, False, True)
        assert (market["quote"], market["settle"], market["contractSize"]) == ("USD", "USD", 1)
        amount_step = Decimal(1).scaleb(-asset["quantity_decimals"])
        assert Decimal(str(market["precision"]["amount"])) == amount_step
        assert Decimal(str(market["precision"]["price"])) == Decimal(1).scaleb(
            -asset["price_decimals"]
        )
        assert market["limits"]["leverage"] == {"min": 1, "max": asset["max_leverage"]}


async def test_fetch_ticker_when_quoted_is_the_latest_house_quote(
    exchange: Exchange, platform: Platform
) -> None:
    ticker = await exchange("fetch_ticker", BTC)
    latest = {quote["asset"]: quote for quote in public(platform, "/prices/latest")}
    tickers = await exchange("fetch_tickers")
    only_eth = await exchange("fetch_tickers", [ETH])

    quote = latest["BTC"]
    assert ticker["symbol"] == BTC
    assert (ticker["bid"], ticker["ask"]) == (float(quote["bid"]), float(quote["ask"]))
    assert ticker["last"] == ticker["markPrice"] == float(quote["mark"])
    assert ticker["bid"] < ticker["last"] < ticker["ask"]
    assert abs(ticker["timestamp"] - quote["ts"]) < 5_000
    assert set(tickers) == {BTC, ETH}  # SOL and the rest have no quote
    assert tickers[ETH]["ask"] == float(latest["ETH"]["ask"])
    assert list(only_eth) == [ETH]


async def test_fetch_ohlcv_when_candles_are_stored_equals_candles(
    exchange: Exchange, platform: Platform
) -> None:
    for timeframe, count in (("1m", 6), ("5m", 2)):
        query = {"asset": "BTC", "interval": timeframe, "from": CANDLES_START}
        candles = public(platform, "/candles", **query, to=CANDLES_START + 300, limit=6)

        rows = await exchange(
            "fetch_ohlcv", BTC, timeframe, CANDLES_START * 1000, 6, {"to": CANDLES_START + 300}
        )

        assert len(rows) == count
        assert rows == [
            [c["time"] * 1000, *(float(c[f]) for f in ("open", "high", "low", "close", "volume"))]
            for c in candles
        ]


async def test_fetch_balance_when_new_is_the_demo_account_then_margin_is_used(
    exchange: Exchange,
) -> None:
    fresh = await exchange("fetch_balance")
    await exchange("create_order", BTC, "market", "buy", None, None, MARGIN_ORDER)
    trading = await exchange("fetch_balance")

    assert fresh["USD"] == {"free": 10_000.0, "used": 0.0, "total": 10_000.0}
    assert fresh["info"]["currency"] == "USD"
    assert trading["USD"]["used"] == 100.0
    assert trading["USD"]["free"] + trading["USD"]["used"] == trading["USD"]["total"]
    assert trading["USD"]["total"] == float(trading["info"]["equity"])


async def test_create_order_when_market_opens_a_position_with_its_exits(
    exchange: Exchange,
) -> None:
    client_id = f"bot-{uuid.uuid4().hex[:8]}"
    params = {**MARGIN_ORDER, "takeProfitPrice": 70_000, "stopLossPrice": 62_000}

    order = await exchange(
        "create_order", BTC, "market", "buy", None, None, {**params, "clientOrderId": client_id}
    )
    (position,) = await exchange("fetch_positions")
    fetched = await exchange("fetch_order", order["id"])

    assert (order["status"], order["type"], order["side"]) == ("closed", "market", "buy")
    assert order["clientOrderId"] == client_id and order["remaining"] == 0
    assert order["filled"] == order["amount"] == float(order["info"]["quantity"]) > 0
    assert (order["takeProfitPrice"], order["stopLossPrice"]) == (70_000, 62_000)
    assert position["id"] == order["id"] and position["symbol"] == BTC
    assert (position["side"], position["contracts"]) == ("long", order["filled"])
    assert position["entryPrice"] == order["average"] == float(position["info"]["open_price"])
    assert (position["leverage"], position["initialMargin"]) == (10, 100.0)
    assert (position["marginMode"], position["hedged"]) == ("isolated", True)
    liquidation = float(position["info"]["liquidation_price"])
    assert position["liquidationPrice"] == liquidation < position["entryPrice"]
    assert (position["takeProfitPrice"], position["stopLossPrice"]) == (70_000, 62_000)
    assert position["unrealizedPnl"] == float(position["info"]["unrealized_pnl"])
    assert (fetched["id"], fetched["status"], fetched["info"]["status"]) == (
        order["id"],
        "closed",
        "open",
    )
    assert fetched["filled"] == order["filled"]


async def test_create_order_when_given_an_amount_opens_that_quantity_of_the_asset(
    exchange: Exchange,
) -> None:
    order = await exchange("create_order", BTC, "market", "buy", 0.01, None, {"leverage": 10})
    (position,) = await exchange("fetch_positions")

    assert (order["amount"], order["filled"], order["status"]) == (0.01, 0.01, "closed")
    assert Decimal(order["info"]["quantity"]) == Decimal("0.01")
    assert (position["contracts"], position["id"]) == (0.01, order["id"])
    # The margin is what the quantity costs at the fill at this leverage (rounded up).
    notional = Decimal(order["info"]["quantity"]) * Decimal(order["info"]["open_price"])
    margin = Decimal(order["info"]["margin"])
    assert notional / 10 <= margin < notional / 10 + Decimal("0.01")
    assert position["initialMargin"] == float(margin)
    pending = await exchange("create_order", BTC, "limit", "buy", 0.02, 50_000, {"leverage": 10})
    assert (pending["status"], pending["amount"], pending["filled"]) == ("open", 0.02, 0)
    assert pending["info"]["margin"] == "100.00"  # 0.02 x 50,000.00 / 10, priced at its own price


async def test_create_order_when_limit_or_stop_is_open_until_cancelled(
    exchange: Exchange,
) -> None:
    margin = {"margin": "50.00", "leverage": 5}

    limit = await exchange("create_order", BTC, "limit", "buy", None, 50_000, margin)
    stop = await exchange("create_order", BTC, "stop", "buy", None, 80_000, margin)
    trigger = await exchange(
        "create_order", BTC, "market", "sell", None, None, {**margin, "triggerPrice": 50_000}
    )
    waiting = await exchange("fetch_open_orders", BTC)
    on_eth = await exchange("fetch_open_orders", ETH)
    held = await exchange("fetch_balance")
    cancelled = await exchange("cancel_order", limit["id"])
    fetched = await exchange.once_booked("fetch_order", limit["id"])
    still = await exchange("fetch_open_orders")

    assert (limit["status"], limit["type"], limit["price"]) == ("open", "limit", 50_000)
    assert (stop["status"], stop["type"], stop["triggerPrice"]) == ("open", "market", 80_000)
    assert (trigger["side"], trigger["triggerPrice"]) == ("sell", 50_000)
    assert limit["filled"] == 0
    assert sorted(o["id"] for o in waiting) == sorted(o["id"] for o in (limit, stop, trigger))
    assert on_eth == []
    assert held["USD"]["used"] == 150.0  # a pending entry holds its margin
    assert (cancelled["id"], cancelled["status"]) == (limit["id"], "canceled")
    assert (fetched["status"], fetched["info"]["status"]) == ("canceled", "cancelled")
    assert sorted(o["id"] for o in still) == sorted([stop["id"], trigger["id"]])
    assert await exchange("fetch_positions") == []


async def test_close_position_when_open_closes_it_into_the_closed_orders(
    exchange: Exchange,
) -> None:
    long_btc = await exchange("create_order", BTC, "market", "buy", None, None, MARGIN_ORDER)
    short_eth = await exchange("create_order", ETH, "market", "sell", None, None, MARGIN_ORDER)
    bid = (await exchange("fetch_ticker", BTC))["bid"]

    closed = await exchange("close_position", BTC)
    left = await exchange("fetch_positions")
    history = await exchange.once_booked("fetch_closed_orders")
    btc_history = await exchange("fetch_closed_orders", BTC, None, 10)
    order = await exchange.once_booked("fetch_order", long_btc["id"])
    closed_eth = await exchange("close_position", ETH, "short")

    assert (closed["id"], closed["status"], closed["side"]) == (long_btc["id"], "closed", "sell")
    assert closed["reduceOnly"] is True and closed["filled"] == long_btc["filled"]
    assert closed["average"] == bid == float(closed["info"]["close_price"])
    assert [p["id"] for p in left] == [short_eth["id"]]
    assert [o["id"] for o in history] == [long_btc["id"]]
    assert history[0]["info"]["pnl"] == closed["info"]["pnl"]
    assert [o["id"] for o in btc_history] == [long_btc["id"]]
    assert (order["status"], order["info"]["status"]) == ("closed", "closed")
    assert (closed_eth["id"], closed_eth["side"]) == (short_eth["id"], "buy")
    assert await exchange("fetch_positions") == []
    with pytest.raises(ccxt.InvalidOrder, match="no open position"):
        await exchange("close_position", BTC)


async def test_close_position_when_named_closes_that_one_else_every_one_on_the_symbol(
    exchange: Exchange,
) -> None:
    opened = [
        await exchange("create_order", BTC, "market", side, None, None, MARGIN_ORDER)
        for side in ("buy", "buy", "sell")
    ]
    first = opened[0]

    half = await exchange("close_position", BTC, None, {"order_id": first["id"], "fraction": "0.5"})
    shorts = await exchange("close_position", BTC, "short")
    rest = await exchange("close_position", BTC, "long")

    closed, remaining = (Decimal(half["info"][f]) for f in ("quantity", "remaining_quantity"))
    assert (half["id"], half["filled"]) == (first["id"], float(closed))
    assert closed + remaining == Decimal(first["info"]["quantity"])
    assert abs(closed - remaining) <= Decimal("0.000001")  # half, at the asset's decimals
    assert (shorts["id"], shorts["side"]) == (opened[2]["id"], "buy")
    assert rest["id"] is None and [close["order_id"] for close in rest["info"]] == [
        int(order["id"]) for order in opened[:2]
    ]
    assert rest["filled"] == float(remaining + Decimal(opened[1]["info"]["quantity"]))
    assert (rest["side"], rest["reduceOnly"]) == ("sell", True)
    assert await exchange("fetch_positions") == []


async def test_create_order_when_the_client_order_id_is_reused_answers_the_first_or_refuses(
    exchange: Exchange,
) -> None:
    params = {**MARGIN_ORDER, "clientOrderId": f"once-{uuid.uuid4().hex[:8]}"}

    first = await exchange("create_order", BTC, "market", "buy", None, None, params)
    again = await exchange("create_order", BTC, "market", "buy", None, None, params)

    assert again["id"] == first["id"]
    assert len(await exchange("fetch_positions")) == 1
    with pytest.raises(ccxt.DuplicateOrderId, match="IDEMPOTENCY_KEY_REUSED"):
        await exchange(
            "create_order", BTC, "market", "buy", None, None, {**params, "margin": "200.00"}
        )


@pytest.mark.parametrize(
    ("symbol", "amount", "params", "error", "code"),
    [
        (BTC, None, {"margin": "20000.00"}, ccxt.InsufficientFunds, "INSUFFICIENT"),
        (BTC, 1, {"leverage": 1}, ccxt.InsufficientFunds, "INSUFFICIENT"),  # 64,010 USD
        (BTC, None, {"margin": "100.00", "leverage": 1000}, ccxt.InvalidOrder, "LEVERAGE_OUT_OF"),
        (BTC, None, {"margin": "-5"}, ccxt.InvalidOrder, "INVALID_MARGIN"),
        (BTC, -0.01, {}, ccxt.InvalidOrder, "INVALID_QUANTITY"),
        ("SOL/USD:USD", None, MARGIN_ORDER, ccxt.ExchangeNotAvailable, "PRICE_"),
    ],
)
async def test_create_order_when_refused_raises_ccxts_exception_for_the_code(
    exchange: Exchange,
    symbol: str,
    amount: float | None,
    params: dict[str, Any],
    error: type[Exception],
    code: str,
) -> None:
    with pytest.raises(error, match=code):
        await exchange("create_order", symbol, "market", "buy", amount, None, params)

    assert await exchange("fetch_positions") == []


async def test_an_unknown_order_when_fetched_or_cancelled_is_order_not_found(
    exchange: Exchange,
) -> None:
    with pytest.raises(ccxt.OrderNotFound, match="NOT_FOUND"):
        await exchange("fetch_order", "999999999")
    with pytest.raises(ccxt.OrderNotFound, match="ORDER_NOT_FOUND"):
        await exchange("cancel_order", "999999999")


async def test_a_key_when_wrong_or_too_narrow_raises_authentication_errors(
    platform: Platform, kind: str, key: dict[str, Any], headers: dict[str, str]
) -> None:
    unknown = {**key, "api_key": "cfd_" + "0" * 32}
    wrong_secret = {**key, "secret": "0" * 64}
    read_only = await api_key(platform, headers, ("read",))
    # A clock a minute ahead of the server's: outside any window.
    ahead = {"options": {"timeDifference": -60_000}}

    for signer, error, code in [
        (unknown, ccxt.AuthenticationError, "UNKNOWN_API_KEY"),
        (wrong_secret, ccxt.AuthenticationError, "BAD_SIGNATURE"),
    ]:
        async with opened(platform, kind, signer) as exchange:
            with pytest.raises(error, match=code):
                await exchange("fetch_balance")
    async with opened(platform, kind, read_only) as exchange:
        assert (await exchange("fetch_balance"))["USD"]["total"] == 10_000.0
        with pytest.raises(ccxt.PermissionDenied, match="SCOPE_REQUIRED"):
            await exchange("create_order", BTC, "market", "buy", None, None, MARGIN_ORDER)
    async with opened(platform, kind, key, **ahead) as exchange:
        with pytest.raises(ccxt.InvalidNonce, match="TIMESTAMP_OUTSIDE_RECV_WINDOW"):
            await exchange("fetch_balance")
        await exchange("load_time_difference")
        assert (await exchange("fetch_balance"))["USD"]["total"] == 10_000.0


async def test_trading_writes_when_past_the_users_limit_raise_rate_limit_exceeded(
    exchange: Exchange,
) -> None:
    refusals: list[str] = []
    for _ in range(2 * PER_USER_PER_MIN + 1):  # the limit's window may turn once on the way
        try:
            await exchange("cancel_order", "999999999")
        except ccxt.OrderNotFound:
            refusals.append("not found")
        except ccxt.RateLimitExceeded as limited:
            refusals.append(str(limited))
            break

    assert "RATE_LIMITED" in refusals[-1]
    assert set(refusals[:-1]) == {"not found"}


def test_readme_bot_when_run_as_written_trades_and_shows_the_position(
    platform: Platform, key: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    section = README.read_text().split("## Trading with ccxt", 1)[1]
    (bot,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    names = {"API_KEY": key["api_key"], "SECRET": key["secret"], "BASE": api_root(platform)}

    exec(compile(bot, str(README), "exec"), names)  # noqa: S102 - the README's own code

    assert len([line for line in bot.splitlines() if line.strip()]) == 5
    shown = capsys.readouterr().out
    exchange = cryptocfd_ccxt.cryptocfd(
        {"apiKey": key["api_key"], "secret": key["secret"], "urls": {"api": api_root(platform)}}
    )
    (position,) = exchange.fetch_positions([BTC])
    assert position["id"] in shown and position["side"] == "long"


async def test_a_request_when_the_engine_is_away_raises_exchange_not_available(
    platform: Platform, key: dict[str, Any]
) -> None:
    """Last in the module: the engine stops, each class reads the balance (503
    ``ENGINE_UNAVAILABLE`` once the gateway's wait for the engine runs out), the engine starts
    again and the same read answers."""
    platform.engine.stop()
    try:
        for kind in ("sync", "async"):
            async with opened(platform, kind, key) as exchange:
                with pytest.raises(ccxt.ExchangeNotAvailable, match="ENGINE_UNAVAILABLE"):
                    await exchange("fetch_balance")
    finally:
        platform.engine.start()
    async with opened(platform, "async", key) as exchange:
        assert (await exchange("fetch_balance"))["USD"]["total"] == 10_000.0
