"""CryptoCFD for ccxt's asyncio API: ``await`` every method, and ``await exchange.close()``."""

from __future__ import annotations

from typing import Any, TypeVar

from ccxt.async_support.base.exchange import Exchange

from cryptocfd_ccxt.core import CryptoCFDCore
from cryptocfd_ccxt.parsers import Json
from cryptocfd_ccxt.steps import Call, Steps

__all__ = ["cryptocfd"]

T = TypeVar("T")


class cryptocfd(CryptoCFDCore, Exchange):  # type: ignore[misc]  # noqa: N801 - ccxt's naming
    """CryptoCFD for ccxt's asynchronous API; the methods are the sync class's."""

    async def _run(self, steps: Steps[T]) -> T:
        answer: Any = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, Call):
                    answer = await self.request(step.path, step.api, step.method, step.params)
                else:
                    answer = await self.load_markets()
        except StopIteration as done:
            result: T = done.value
            return result

    async def fetch_time(self, params: Json | None = None) -> int:
        """The server's clock, unix milliseconds."""
        return await self._run(self._fetch_time(params or {}))

    async def fetch_markets(self, params: Json | None = None) -> list[Json]:
        """Every asset as a linear perpetual swap settled in USD."""
        return await self._run(self._fetch_markets(params or {}))

    async def fetch_ticker(self, symbol: str, params: Json | None = None) -> Json:
        """The house's bid, ask and mark for one market."""
        return await self._run(self._fetch_ticker(symbol, params or {}))

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> Json:
        """The house's quotes, by symbol."""
        return await self._run(self._fetch_tickers(symbols, params or {}))

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[list[Any]]:
        """Candles of the bid, oldest first, as ``/candles`` serves them."""
        return await self._run(self._fetch_ohlcv(symbol, timeframe, since, limit, params or {}))

    async def fetch_balance(self, params: Json | None = None) -> Json:
        """The account's USD: equity, used and free margin."""
        return await self._run(self._fetch_balance(params or {}))

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: float | None,
        price: float | None = None,
        params: Json | None = None,
    ) -> Json:
        """Open a position (market) or place a pending entry (limit, stop)."""
        return await self._run(self._create_order(symbol, type, side, amount, price, params or {}))

    async def cancel_order(
        self,
        id: str,
        symbol: str | None = None,
        params: Json | None = None,
    ) -> Json:
        """Cancel a pending entry."""
        del symbol  # an order id is enough
        return await self._run(self._cancel_order(id, params or {}))

    async def fetch_order(
        self,
        id: str,
        symbol: str | None = None,
        params: Json | None = None,
    ) -> Json:
        """One order in any state."""
        del symbol
        return await self._run(self._fetch_order(id, params or {}))

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """Pending limit and stop entries."""
        return await self._run(self._fetch_open_orders(symbol, since, limit, params or {}))

    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Json | None = None,
    ) -> list[Json]:
        """Closes of positions, newest page first, as reduce-only fills."""
        return await self._run(self._fetch_closed_orders(symbol, since, limit, params or {}))

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: Json | None = None
    ) -> list[Json]:
        """Open positions."""
        return await self._run(self._fetch_positions(symbols, params or {}))

    async def close_position(
        self, symbol: str, side: str | None = None, params: Json | None = None
    ) -> Json:
        """Close positions at the closing side's price (see ``core``)."""
        return await self._run(self._close_position(symbol, side, params or {}))
