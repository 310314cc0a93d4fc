"""What the exchange class tells ccxt about CryptoCFD: its capabilities, timeframes, URLs,
routes and which of the platform's stable error codes is which ccxt exception.

The error codes are the ones the gateway answers in ``{"error": {"code", "message"}}``
(``trading/rejections.py`` for the engine's, ``gateway/errors.py`` and ``gateway/signed.py``
for the gateway's own); a code missing here falls back to ccxt's table by HTTP status.
"""

from __future__ import annotations

from typing import Any

from ccxt.base.decimal_to_precision import TICK_SIZE
from ccxt.base.errors import (
    AuthenticationError,
    BadRequest,
    BadSymbol,
    DuplicateOrderId,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidNonce,
    InvalidOrder,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)

# Where `cryptocfd up` serves on a laptop; pass `"urls": {"api": BASE}` for any other.
DEFAULT_SITE = "http://127.0.0.1:8000"
DEFAULT_API = DEFAULT_SITE + "/api/v1"

SUPPORTED = (
    "fetchTime",
    "fetchMarkets",
    "fetchTicker",
    "fetchTickers",
    "fetchOHLCV",
    "fetchBalance",
    "createOrder",
    "createMarketOrder",
    "createLimitOrder",
    "createStopOrder",
    "createStopMarketOrder",
    "createTriggerOrder",
    "createOrderWithTakeProfitAndStopLoss",
    "cancelOrder",
    "fetchOrder",
    "fetchOpenOrders",
    "fetchClosedOrders",
    "fetchPositions",
    "closePosition",
)
# Named False so a program that asks `has` gets a no rather than ccxt's "unknown".
UNSUPPORTED = (
    "spot",
    "margin",
    "future",
    "option",
    "fetchCurrencies",
    "fetchOrderBook",
    "fetchTrades",
    "fetchMyTrades",
    "fetchOrders",
    "fetchPosition",
    "fetchLeverage",
    "setLeverage",
    "setMarginMode",
    "editOrder",
    "cancelAllOrders",
    "closeAllPositions",
    "fetchFundingRate",
    "fetchDeposits",
    "fetchWithdrawals",
    "withdraw",
    "createStopLimitOrder",
)

TIMEFRAMES = {tf: tf for tf in ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")}

_INVALID_ORDER = (
    "INVALID_AMOUNT",
    "INVALID_MARGIN",
    "INVALID_QUANTITY",
    "LEVERAGE_OUT_OF_RANGE",
    "POSITION_TOO_SMALL",
    "WOULD_LIQUIDATE",
    "SLIPPAGE_EXCEEDED",
    "INVALID_SLIPPAGE",
    "INVALID_ORDER_PRICE",
    "INVALID_TAKE_PROFIT",
    "INVALID_STOP_LOSS",
    "STOP_LOSS_BEYOND_LIQUIDATION",
    "INVALID_TRAILING_DISTANCE",
    "INVALID_EXPIRY",
    "INVALID_FRACTION",
    "CLOSE_TOO_SMALL",
    "ORDER_CLOSED",
)
EXACT: dict[str, Any] = {
    **dict.fromkeys(_INVALID_ORDER, InvalidOrder),
    "INSUFFICIENT_BALANCE": InsufficientFunds,
    "ORDER_NOT_FOUND": OrderNotFound,
    "UNKNOWN_ASSET": BadSymbol,
    "IDEMPOTENCY_KEY_REUSED": DuplicateOrderId,
    "UNAUTHENTICATED": AuthenticationError,
    "BAD_SIGNATURE": AuthenticationError,
    "UNKNOWN_API_KEY": AuthenticationError,
    # A clock off the server's by more than the window: ccxt's class for a bad nonce, which a
    # program fixes with `load_time_difference()` (the signature then uses the server's time).
    "TIMESTAMP_OUTSIDE_RECV_WINDOW": InvalidNonce,
    "SCOPE_REQUIRED": PermissionDenied,
    "IP_NOT_ALLOWED": PermissionDenied,
    "API_KEY_NOT_ALLOWED": PermissionDenied,
    "RATE_LIMITED": RateLimitExceeded,
    "ENGINE_UNAVAILABLE": ExchangeNotAvailable,
    "SERVICE_UNAVAILABLE": ExchangeNotAvailable,
    # No fresh quote for the asset: opens are halted until the feed is back, so a retry later
    # can succeed, as with an exchange that is away.
    "PRICE_STALE": ExchangeNotAvailable,
    "PRICE_UNAVAILABLE": ExchangeNotAvailable,
    "INVALID_REQUEST": BadRequest,
    "INVALID_JSON": BadRequest,
    "INVALID_NUMBER": BadRequest,
    "INVALID_IDEMPOTENCY_KEY": BadRequest,
    "BAD_REQUEST": BadRequest,
    "INTERNAL_ERROR": ExchangeError,
}

API = {
    "public": {"get": ["time", "supportedAssets", "prices/latest", "candles"]},
    "private": {
        "get": ["balance", "trade/open", "trade/closed", "trade/orders/{order_id}"],
        "post": ["trade/create", "trade/cancel", "trade/close"],
    },
}


def description() -> dict[str, Any]:
    """The part of ``describe()`` that is CryptoCFD's (ccxt's defaults fill the rest)."""
    return {
        "id": "cryptocfd",
        "name": "CryptoCFD",
        "countries": [],
        "version": "v1",
        "rateLimit": 100,  # ms between requests: the platform's 600 a minute per user
        "certified": False,
        "pro": False,
        "has": {
            "CORS": None,
            "swap": True,
            **dict.fromkeys(SUPPORTED, True),
            **dict.fromkeys(UNSUPPORTED, False),
        },
        "timeframes": TIMEFRAMES,
        "urls": {
            "api": DEFAULT_API,
            "www": DEFAULT_SITE,
            "doc": [DEFAULT_SITE + "/docs"],
        },
        "api": API,
        "requiredCredentials": {"apiKey": True, "secret": True},
        "precisionMode": TICK_SIZE,
        "options": {"recvWindow": 5000, "defaultLeverage": 1},
        "exceptions": {"exact": EXACT, "broad": {}},
    }
