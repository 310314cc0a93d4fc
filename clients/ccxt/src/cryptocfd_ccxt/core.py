"""What the sync and async classes share: ``describe``, ``sign``, ``handle_errors``, the parsers
and each unified method as a generator of steps (``steps``), driven by the class that runs it.

Requests are signed as the platform's API keys want (docs/interfaces.md, "API keys"):
``X-CFD-SIGNATURE`` is the lowercase hex HMAC-SHA256, keyed with the secret, of timestamp +
api key + recv window + payload, where the payload is the query string of a GET exactly as sent
or the JSON body of a POST exactly as sent.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from ccxt.base.errors import ArgumentsRequired, ExchangeError, InvalidOrder
from ccxt.base.precise import Precise

from cryptocfd_ccxt.description import description
from cryptocfd_ccxt.parsers import Json, Parsers
from cryptocfd_ccxt.steps import Call, LoadMarkets, Steps

_ORDER_TYPES = ("market", "limit", "stop")
_SIDES = {"buy": "long", "sell": "short", "long": "long", "short": "short"}
# Parameters create_order reads itself; the rest go to the platform as they are.
_CONSUMED = (
    "leverage",
    "margin",
    "triggerPrice",
    "stopPrice",
    "takeProfitPrice",
    "stopLossPrice",
    "clientOrderId",
)


class CryptoCFDCore(Parsers):
    """The exchange's description, signing, errors, parsers and methods' steps."""

    def describe(self) -> Json:
        """ccxt's defaults, deep-extended with CryptoCFD's description."""
        described: Json = self.deep_extend(super().describe(), description())
        return described

    def sign(
        self,
        path: str,
        api: Any = "public",
        method: str = "GET",
        params: Json | None = None,
        headers: Any = None,
        body: Any = None,
    ) -> Json:
        """The URL, headers and body of one request; private ones carry the key's signature."""
        del headers, body  # ccxt passes none; each request's are built here
        params = params or {}
        api_name = api[0] if isinstance(api, list) else api
        query = self.omit(params, self.extract_params(path))
        url = self._api_base(api_name) + "/" + self.implode_params(path, params)
        payload = ""
        request_body = None
        if method == "GET":
            if query:
                payload = self.urlencode(query)
                url += "?" + payload
        elif query:
            request_body = payload = self.json(query)
        request_headers: Json = {}
        if request_body is not None:
            request_headers["Content-Type"] = "application/json"
        if api_name == "private":
            self.check_required_credentials()
            request_headers.update(self._signature(payload))
        return {"url": url, "method": method, "body": request_body, "headers": request_headers}

    def _api_base(self, api_name: str) -> str:
        base = self.urls["api"]
        if isinstance(base, dict):
            base = base.get(api_name)
        if not isinstance(base, str):
            raise ExchangeError(f"{self.id} has no urls['api'] to send {api_name} requests to")
        return base.rstrip("/")

    def _signature(self, payload: str) -> dict[str, str]:
        # After load_time_difference(), the server's clock: its window is a few seconds wide.
        stamp = str(self.milliseconds() - self.safe_integer(self.options, "timeDifference", 0))
        window = str(self.safe_integer(self.options, "recvWindow", 5000))
        signed = stamp + self.apiKey + window + payload
        signature: str = self.hmac(self.encode(signed), self.encode(self.secret), hashlib.sha256)
        return {
            "X-CFD-API-KEY": self.apiKey,
            "X-CFD-TIMESTAMP": stamp,
            "X-CFD-RECV-WINDOW": window,
            "X-CFD-SIGNATURE": signature,
        }

    def handle_errors(
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Any,
        body: str,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> None:
        """Raise the ccxt exception of a ``{"error": {"code", "message"}}`` answer: by its
        stable code, else by its HTTP status (ccxt's own table), else ``ExchangeError``."""
        del reason, headers, body, request_headers, request_body
        error = response.get("error") if isinstance(response, dict) else None
        if not isinstance(error, dict):
            return
        stable = self.safe_string(error, "code")
        feedback = f"{self.id} {method} {url} {code} {stable}: {self.safe_string(error, 'message')}"
        self.throw_exactly_matched_exception(self.exceptions["exact"], stable, feedback)
        self.throw_exactly_matched_exception(self.httpExceptions, str(code), feedback)
        raise ExchangeError(feedback)

    # The unified methods, once for both classes: see ``steps``.

    def _fetch_time(self, params: Json) -> Steps[int]:
        answer = yield Call("time", "public", "GET", params)
        server_time: int = self.safe_integer(answer, "server_time")
        return server_time

    def _fetch_markets(self, params: Json) -> Steps[list[Json]]:
        assets = yield Call("supportedAssets", "public", "GET", params)
        return [self.parse_market(asset) for asset in assets]

    def _fetch_tickers(self, symbols: list[str] | None, params: Json) -> Steps[Json]:
        yield LoadMarkets()
        quotes = yield Call("prices/latest", "public", "GET", params)
        tickers: Json = self.parse_tickers(quotes, self.market_symbols(symbols))
        return tickers

    def _fetch_ticker(self, symbol: str, params: Json) -> Steps[Json]:
        tickers = yield from self._fetch_tickers(None, params)
        symbol = self.market(symbol)["symbol"]
        if symbol not in tickers:
            raise ExchangeError(f"{self.id} has no quote for {symbol} yet")
        ticker: Json = tickers[symbol]
        return ticker

    def _fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None, limit: int | None, params: Json
    ) -> Steps[list[list[Any]]]:
        yield LoadMarkets()
        market = self.market(symbol)
        request: Json = {
            "asset": market["id"],
            "interval": self.safe_string(self.timeframes, timeframe, timeframe),
        }
        if since is not None:
            request["from"] = -(-since // 1000)  # the first bucket starting at or after since
        if limit is not None:
            request["limit"] = limit
        candles = yield Call("candles", "public", "GET", self.extend(request, params))
        rows: list[list[Any]] = self.parse_ohlcvs(candles, market, timeframe, since, limit)
        return rows

    def _fetch_balance(self, params: Json) -> Steps[Json]:
        answer = yield Call("balance", "private", "GET", params)
        return self.parse_balance(answer)

    def _create_order(
        self,
        symbol: str,
        order_type: str,
        side: str,
        amount: float | None,
        price: float | None,
        params: Json,
    ) -> Steps[Json]:
        yield LoadMarkets()
        request = self._order_request(symbol, order_type, side, amount, price, params)
        answer = yield Call("trade/create", "private", "POST", request)
        order = self.parse_order(answer, self.market(symbol))
        order["clientOrderId"] = request.get("client_order_id")
        return order

    def _order_request(
        self,
        symbol: str,
        order_type: str,
        side: str,
        amount: float | None,
        price: float | None,
        params: Json,
    ) -> Json:
        """The body of ``/trade/create``: ``amount`` is the quantity of the asset, unless
        ``params`` has ``margin`` (then ``amount`` is not sent)."""
        market = self.market(symbol)
        trigger = self.safe_string_2(params, "triggerPrice", "stopPrice")
        kind = "stop" if trigger is not None else order_type.lower()
        if kind not in _ORDER_TYPES or side.lower() not in _SIDES:
            raise InvalidOrder(f"{self.id} takes market, limit or stop orders to buy or sell")
        if trigger is not None and order_type.lower() == "limit":
            # A stop entry fills at the market once its price is crossed: no stop-limit.
            raise InvalidOrder(f"{self.id} has no stop-limit orders: a stop fills at the market")
        request: Json = {
            "asset": market["id"],
            "side": _SIDES[side.lower()],
            "order_type": kind,
            "leverage": self.safe_string(params, "leverage", str(self.options["defaultLeverage"])),
        }
        margin = self.safe_string(params, "margin")
        if margin is not None:
            request["margin"] = margin
        elif amount is None:
            raise ArgumentsRequired(f"{self.id} create_order needs an amount or params['margin']")
        else:
            request["quantity"] = self.amount_to_precision(symbol, amount)
        entry = price if trigger is None else trigger
        if kind != "market":
            if entry is None:
                raise ArgumentsRequired(f"{self.id} a {kind} order needs its price")
            request["price"] = self.price_to_precision(symbol, entry)
        exits = {"take_profit": "takeProfitPrice", "stop_loss": "stopLossPrice"}
        for field, name in exits.items():
            if params.get(name) is not None:
                request[field] = self.price_to_precision(symbol, params[name])
        client_order_id = self.safe_string(params, "clientOrderId")
        if client_order_id is not None:
            request["client_order_id"] = client_order_id
        extended: Json = self.extend(request, self.omit(params, list(_CONSUMED)))
        return extended

    def _on_order(
        self, path: str, method: Literal["GET", "POST"], order_id: str, params: Json
    ) -> Call:
        """A call about one order: the platform's ids are integers, ccxt's strings."""
        return Call(
            path, "private", method, self.extend({"order_id": self.parse_to_int(order_id)}, params)
        )

    def _cancel_order(self, order_id: str, params: Json) -> Steps[Json]:
        yield LoadMarkets()
        answer = yield self._on_order("trade/cancel", "POST", order_id, params)
        return self.parse_order(answer)

    def _fetch_order(self, order_id: str, params: Json) -> Steps[Json]:
        yield LoadMarkets()
        answer = yield self._on_order("trade/orders/{order_id}", "GET", order_id, params)
        return self.parse_order(answer)

    def _asset_filter(self, symbol: str | None) -> tuple[Json | None, Json]:
        if symbol is None:
            return None, {}
        market = self.market(symbol)
        return market, {"asset": market["id"]}

    def _fetch_open_orders(
        self, symbol: str | None, since: int | None, limit: int | None, params: Json
    ) -> Steps[list[Json]]:
        yield LoadMarkets()
        market, request = self._asset_filter(symbol)
        answer = yield Call("trade/open", "private", "GET", self.extend(request, params))
        orders: list[Json] = self.parse_orders(answer["pending"], market, since, limit)
        return orders

    def _fetch_closed_orders(
        self, symbol: str | None, since: int | None, limit: int | None, params: Json
    ) -> Steps[list[Json]]:
        yield LoadMarkets()
        market, request = self._asset_filter(symbol)
        if limit is not None:
            request["limit"] = min(limit, 500)  # the platform's page size; page on with cursor
        answer = yield Call("trade/closed", "private", "GET", self.extend(request, params))
        orders: list[Json] = self.parse_orders(answer["items"], market, since, limit)
        return orders

    def _fetch_positions(self, symbols: list[str] | None, params: Json) -> Steps[list[Json]]:
        yield LoadMarkets()
        symbols = self.market_symbols(symbols)
        single = symbols is not None and len(symbols) == 1
        _, request = self._asset_filter(symbols[0] if single else None)
        answer = yield Call("trade/open", "private", "GET", self.extend(request, params))
        positions: list[Json] = self.parse_positions(answer["positions"], symbols)
        return positions

    def _close_position(self, symbol: str, side: str | None, params: Json) -> Steps[Json]:
        """Close ``params['order_id']``, or every position on ``symbol`` (of ``side``, long or
        short, when given); ``params['fraction']`` closes a part of each."""
        order_id = self.safe_string_2(params, "order_id", "id")
        params = self.omit(params, ["order_id", "id"])
        if order_id is not None:
            order_ids = [order_id]
        else:
            positions = yield from self._fetch_positions([symbol], {})
            wanted = None if side is None else _SIDES.get(side.lower(), side)
            order_ids = [p["id"] for p in positions if wanted in (None, p["side"])]
        if not order_ids:
            raise InvalidOrder(
                f"{self.id} has no open {side or ''} position on {symbol}".replace("  ", " ")
            )
        closes: list[Json] = []
        for one in order_ids:
            close = yield self._on_order("trade/close", "POST", one, params)
            closes.append(close)
        orders = [self.parse_order(close, self.market(symbol)) for close in closes]
        if len(orders) == 1:
            return orders[0]
        filled = "0"
        for order in orders:
            filled = Precise.string_add(filled, self.safe_string(order, "filled"))
        return self._safe_order(
            {
                "symbol": orders[0]["symbol"],
                "type": "market",
                "side": orders[0]["side"],
                "amount": filled,
                "filled": filled,
                "remaining": "0",
                "status": "closed",
                "reduceOnly": True,
                "info": closes,
            },
            self.market(symbol),
        )
