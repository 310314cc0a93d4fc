"""A ccxt exchange class for CryptoCFD: ``cryptocfd_ccxt.cryptocfd`` (and, for asyncio,
``cryptocfd_ccxt.async_support.cryptocfd``).

    exchange = cryptocfd({"apiKey": KEY, "secret": SECRET, "urls": {"api": BASE}})

``BASE`` is the platform's API root, scheme, host, port and ``/api/v1`` with no trailing
slash: ``http://127.0.0.1:8000/api/v1`` for ``cryptocfd up`` on this machine (the default).
"""

from __future__ import annotations

from typing import Any, TypeVar

from ccxt.base.exchange import Exchange

from cryptocfd_ccxt.core import CryptoCFDCore
from cryptocfd_ccxt.parsers import Json
from cryptocfd_ccxt.steps import Call, Steps

__all__ = ["cryptocfd"]

T = TypeVar("T")


class cryptocfd(CryptoCFDCore, Exchange):  # type: ignore[misc]  # noqa: N801 - ccxt's naming
    """CryptoCFD for ccxt's synchronous API."""

    def _run(self, steps: Steps[T]) -> T:
        answer: Any = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, Call):
                    answer = self.request(step.path, step.api, step.method, step.params)
                else:
                    answer = self.load_markets()
        except StopIteration as done:
            result: T = done.value
            return result

    def fetch_time(self, params: Json | None = None) -> int:
        """The server's clock, unix milliseconds."""
        return self._run(self._fetch_time(params or {}))

    def fetch_markets(self, params: Json | None = None) -> list[Json]:
        """Every asset as a linear perpetual swap settled in USD."""
        return self._run(self._fetch_markets(params or {}))

    def fetch_ticker(self, symbol: str, params: Json | None = None) -> Json:
        """The house's bid, ask and mark for one market."""
        return self._run(self._fetch_ticker(symbol, params or {}))

    def fetch_tickers(self, symbols: list[str] | None = None, params: Json | None = None) -> Json:
        """The house's quotes, by symbol."""
        return self._run(self._fetch_tickers(symbols, params or {}))

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[list[Any]]:
        """Candles of the bid, oldest first, as ``/candles`` serves them."""
        return self._run(self._fetch_ohlcv(symbol, timeframe, since, limit, params or {}))

    def fetch_balance(self, params: Json | None = None) -> Json:
        """The account's USD: equity, used and free margin."""
        return self._run(self._fetch_balance(params or {}))

    def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: float | None,
        price: float | None = None,
        params: Json | None = None,
    ) -> Json:
        """Open a position (market) or place a pending entry (limit, stop)."""
        return self._run(self._create_order(symbol, type, side, amount, price, params or {}))

    def cancel_order(self, id: str, symbol: str | None = None, params: Json | None = None) -> Json:
        """Cancel a pending entry."""
        del symbol  # an order id is enough
        return self._run(self._cancel_order(id, params or {}))

    def fetch_order(self, id: str, symbol: str | None = None, params: Json | None = None) -> Json:
        """One order in any state."""
        del symbol
        return self._run(self._fetch_order(id, params or {}))

    def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """Pending limit and stop entries."""
        return self._run(self._fetch_open_orders(symbol, since, limit, params or {}))

    def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """Closes of positions, newest page first, as reduce-only fills."""
        return self._run(self._fetch_closed_orders(symbol, since, limit, params or {}))

    def fetch_positions(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> list[Json]:
        """Open positions."""
        return self._run(self._fetch_positions(symbols, params or {}))

    def close_position(
        self, symbol: str, side: str | None = None, params: Json | None = None
    ) -> Json:
        """Close positions at the closing side's price (see ``core``)."""
        return self._run(self._close_position(symbol, side, params or {}))
