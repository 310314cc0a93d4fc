"""The platform's answers as ccxt's unified structures.

CryptoCFD quotes contracts for difference against the house, settled in USD: each asset is one
linear perpetual market, ``BTC/USD:USD`` for ``BTC``, of contract size 1 (a contract is one
unit of the asset). Every platform order is one position, so an account is hedged (a long and
a short on one asset stand side by side) and each position's margin is its own (isolated).

Orders, in ccxt's words: a pending limit or stop entry is ``open``; an entry that filled (a
market order at once, a pending one at its price) is ``closed`` whatever became of the position
since, and the position is what ``fetch_positions`` shows; ``canceled``, ``expired`` and
``rejected`` are what they say. A close of a position (``close_position``, a take-profit, a
stop-loss, a trailing stop, a liquidation) is a reduce-only market order on the other side,
filled at the close price, with the same id as the position's order: that is what
``fetch_closed_orders`` lists (the platform's closed trades, whose ``info`` has the PnL).

Amounts and prices arrive as exact decimal strings; ccxt's ``safe_*`` helpers turn them into
its numbers at the last step, so no figure is rounded here.
"""

from __future__ import annotations

from typing import Any

from ccxt.base.exchange import BaseExchange
from ccxt.base.precise import Precise

Json = dict[str, Any]

SETTLE = "USD"
_SIDES = {"long": "buy", "short": "sell"}
_CLOSING_SIDES = {"long": "sell", "short": "buy"}
# The platform's order states (GET /trade/orders/{id}) as ccxt's.
_STATUSES = {
    "pending": "open",
    "open": "closed",
    "closed": "closed",
    "liquidated": "closed",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}


class Parsers(BaseExchange):  # type: ignore[misc]  # ccxt ships no types: its base is Any
    """ccxt's ``parse_*`` methods for CryptoCFD's shapes (docs/interfaces.md, "shapes")."""

    def parse_market(self, asset: Json) -> Json:
        """One of ``/supportedAssets`` as a linear USD-settled perpetual swap."""
        asset_id = self.safe_string(asset, "symbol")
        base = self.safe_currency_code(asset_id)
        amount_step = self.parse_number(
            self.parse_precision(self.safe_string(asset, "quantity_decimals"))
        )
        market: Json = self.safe_market_structure(
            {
                "id": asset_id,
                "symbol": f"{base}/{SETTLE}:{SETTLE}",
                "base": base,
                "quote": SETTLE,
                "settle": SETTLE,
                "baseId": asset_id,
                "quoteId": SETTLE,
                "settleId": SETTLE,
                "type": "swap",
                "spot": False,
                "margin": False,
                "swap": True,
                "future": False,
                "option": False,
                "active": True,
                "contract": True,
                "linear": True,
                "inverse": False,
                "contractSize": self.parse_number("1"),
                # The house earns its spread, not a fee.
                "taker": self.parse_number("0"),
                "maker": self.parse_number("0"),
                "precision": {
                    "amount": amount_step,
                    "price": self.parse_number(
                        self.parse_precision(self.safe_string(asset, "price_decimals"))
                    ),
                },
                "limits": {
                    "leverage": {
                        "min": self.parse_number("1"),
                        "max": self.safe_number(asset, "max_leverage"),
                    },
                    "amount": {"min": amount_step, "max": None},
                    "price": {"min": None, "max": None},
                    "cost": {"min": None, "max": None},
                },
                "created": None,
                "info": asset,
            }
        )
        return market

    def parse_ticker(self, ticker: Json, market: Json | None = None) -> Json:
        """A house quote of ``/prices/latest``: ``last`` is the mark (the feed's mid)."""
        market = self.safe_market(self.safe_string(ticker, "asset"), market)
        timestamp = self.safe_integer(ticker, "ts")
        mark = self.safe_string(ticker, "mark")
        parsed: Json = self.safe_ticker(
            {
                "symbol": market["symbol"],
                "timestamp": timestamp,
                "datetime": self.iso8601(timestamp),
                "bid": self.safe_string(ticker, "bid"),
                "ask": self.safe_string(ticker, "ask"),
                "last": mark,
                "close": mark,
                "markPrice": mark,
                "info": ticker,
            },
            market,
        )
        return parsed

    def parse_ohlcv(self, ohlcv: Json, market: Json | None = None) -> list[Any]:
        """A candle of the bid; ``time`` (unix seconds) becomes milliseconds."""
        del market  # every candle names its interval's bucket, not its market
        return [
            self.safe_timestamp(ohlcv, "time"),
            *(self.safe_number(ohlcv, name) for name in ("open", "high", "low", "close", "volume")),
        ]

    def parse_balance(self, response: Json) -> Json:
        """``/balance``: ``total`` is the equity, ``used`` the margin that open positions and
        pending entries hold, ``free`` the free margin (equity less used margin)."""
        account = self.account()
        account["total"] = self.safe_string(response, "equity")
        account["used"] = self.safe_string(response, "used_margin")
        account["free"] = self.safe_string(response, "free_margin")
        currency = self.safe_currency_code(self.safe_string(response, "currency"))
        balance: Json = self.safe_balance({"info": response, currency: account})
        return balance

    def parse_order(self, order: Json, market: Json | None = None) -> Json:
        """Any of the platform's order shapes: a position, a pending entry, a close, an order
        of ``/trade/orders/{id}`` or the answer of ``/trade/create`` and ``/trade/cancel``."""
        if "close_price" in order:
            return self._parse_close(order, market)
        if "released_margin" in order:  # the answer of /trade/cancel
            return self._safe_order(
                {"id": self.safe_string(order, "order_id"), "status": "canceled", "info": order},
                market,
            )
        inner = self.safe_dict_2(order, "position", "order")
        if inner is not None:  # the answer of /trade/create
            return self.parse_order(inner, market)
        market = self.safe_market(self.safe_string(order, "asset"), market)
        status = self.safe_string(order, "status")
        if status is None:  # a position (an entry that filled) or a pending entry
            status = "pending" if "placed_at" in order and "open_price" not in order else "open"
        order_type = self.safe_string(order, "order_type", "market")
        price = self.safe_string_2(order, "price", "open_price")
        filled = None if status == "pending" else self.safe_string(order, "quantity")
        placed = self.parse8601(self.safe_string_2(order, "placed_at", "opened_at"))
        return self._safe_order(
            {
                "id": self.safe_string(order, "order_id"),
                "timestamp": placed,
                "datetime": self.iso8601(placed),
                "lastTradeTimestamp": self.parse8601(self.safe_string(order, "opened_at")),
                "symbol": market["symbol"],
                "type": "market" if order_type == "stop" else order_type,
                "side": _SIDES.get(self.safe_string(order, "side", "")),
                "price": price,
                "triggerPrice": price if order_type == "stop" else None,
                "average": self.safe_string(order, "open_price"),
                "amount": self.safe_string(order, "quantity"),
                "filled": "0" if status == "pending" else filled,
                "remaining": "0" if filled is not None else None,
                "status": _STATUSES.get(status, status),
                "takeProfitPrice": self.safe_string(order, "take_profit"),
                "stopLossPrice": self.safe_string(order, "stop_loss"),
                "reduceOnly": False,
                "info": order,
            },
            market,
        )

    def _parse_close(self, close: Json, market: Json | None) -> Json:
        market = self.safe_market(self.safe_string(close, "asset"), market)
        closed = self.parse8601(self.safe_string(close, "closed_at"))
        quantity = self.safe_string(close, "quantity")
        return self._safe_order(
            {
                "id": self.safe_string(close, "order_id"),
                "timestamp": closed,
                "datetime": self.iso8601(closed),
                "lastTradeTimestamp": closed,
                "symbol": market["symbol"],
                "type": "market",
                "side": _CLOSING_SIDES.get(self.safe_string(close, "side", "")),
                "price": self.safe_string(close, "close_price"),
                "average": self.safe_string(close, "close_price"),
                "amount": quantity,
                "filled": quantity,
                "remaining": "0",
                "status": "closed",
                "reduceOnly": True,
                "info": close,
            },
            market,
        )

    def _safe_order(self, order: Json, market: Json | None) -> Json:
        parsed: Json = self.safe_order({"fee": None, "trades": [], **order}, market)
        return parsed

    def parse_position(self, position: Json, market: Json | None = None) -> Json:
        """An open position: isolated, hedged, ``contracts`` its quantity in the asset."""
        market = self.safe_market(self.safe_string(position, "asset"), market)
        opened = self.parse8601(self.safe_string(position, "opened_at"))
        margin = self.safe_string(position, "margin")
        leverage = self.safe_string(position, "leverage")
        quantity = self.safe_string(position, "quantity")
        entry = self.safe_string(position, "open_price")
        upnl = self.safe_string(position, "unrealized_pnl")
        maintenance = self.safe_string(market["info"], "maintenance_margin")
        parsed: Json = self.safe_position(
            {
                "info": position,
                "id": self.safe_string(position, "order_id"),
                "symbol": market["symbol"],
                "timestamp": opened,
                "datetime": self.iso8601(opened),
                "lastUpdateTimestamp": None,
                "side": self.safe_string(position, "side"),
                "contracts": self.parse_number(quantity),
                "contractSize": self.parse_number("1"),
                "entryPrice": self.parse_number(entry),
                "markPrice": None,
                "notional": self.parse_number(Precise.string_mul(quantity, entry)),
                "leverage": self.parse_number(leverage),
                "positionMargin": self.parse_number(margin),
                "initialMargin": self.parse_number(margin),
                "initialMarginPercentage": self.parse_number(Precise.string_div("1", leverage)),
                "maintenanceMargin": self.parse_number(Precise.string_mul(margin, maintenance)),
                "maintenanceMarginPercentage": self.parse_number(
                    Precise.string_div(maintenance, leverage)
                ),
                "unrealizedPnl": self.parse_number(upnl),
                "percentage": self.parse_number(
                    Precise.string_mul(Precise.string_div(upnl, margin), "100")
                ),
                "liquidationPrice": self.safe_number(position, "liquidation_price"),
                "takeProfitPrice": self.safe_number(position, "take_profit"),
                "stopLossPrice": self.safe_number(position, "stop_loss"),
                "marginRatio": None,
                "marginMode": "isolated",
                "hedged": True,
            }
        )
        return parsed
