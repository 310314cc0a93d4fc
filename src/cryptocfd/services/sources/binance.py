"""The Binance bookTicker source: one websocket, reconnecting, watched for silence.

The combined stream of every configured symbol is read over one connection. The websockets
library answers the server's pings itself and sends its own every ``ping_interval_s`` (a dead
peer closes the connection after ``ping_timeout_s``). A silence longer than ``silence_s`` --
Binance's busiest books update many times a second -- means the connection is half-dead: it is
closed and opened again. Failed connections are retried with capped exponential backoff and
jitter, forever, until the source is stopped or its task cancelled. Bad messages are logged and
counted, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import aclosing, suppress
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from cryptocfd.core.clock import WALL, Clock
from cryptocfd.core.tick import Tick
from cryptocfd.market.binance import (
    BINANCE_WS_URL,
    BinanceMarkets,
    Refusal,
    RefusalKind,
    parse_book_ticker,
    stream_url,
)
from cryptocfd.market.freshness import Freshness
from cryptocfd.services.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass
class BinanceStats:
    """What the source has seen since it started."""

    connects: int = 0
    disconnects: int = 0
    silences: int = 0  # times the watchdog closed a quiet connection
    messages: int = 0
    ticks: int = 0
    refused: Counter[RefusalKind] = field(default_factory=Counter)

    @property
    def malformed(self) -> int:
        """Messages that were not the documented shape."""
        return self.refused[RefusalKind.MALFORMED]


class BinanceSource:
    """Ticks from Binance's bookTicker streams for ``markets``, at ``base_url``."""

    def __init__(
        self,
        markets: BinanceMarkets,
        base_url: str = BINANCE_WS_URL,
        *,
        silence_s: float = 10.0,
        backoff: Backoff | None = None,
        ping_interval_s: float = 20.0,
        ping_timeout_s: float = 20.0,
        open_timeout_s: float = 10.0,
        close_timeout_s: float = 2.0,
        clock: Clock = WALL,
        rng: random.Random | None = None,
    ) -> None:
        if silence_s <= 0 or ping_interval_s <= 0 or ping_timeout_s <= 0:
            raise ValueError("silence and ping timings must be positive")
        self.markets = markets
        self.url = stream_url(markets, base_url)
        self.stats = BinanceStats()
        self._silence_s = silence_s
        self._backoff = backoff or Backoff()
        self._pings = (ping_interval_s, ping_timeout_s)
        self._timeouts = (open_timeout_s, close_timeout_s)
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not a secret
        self._freshness = Freshness(markets.assets)
        self._last_ts = 0
        self._stopping = asyncio.Event()
        self._connection: ClientConnection | None = None

    def stale_assets(self) -> frozenset[str]:
        """The assets with no tick within their staleness limit (all of them before the first)."""
        return self._freshness.stale(self._clock.now_ms())

    def stop(self) -> None:
        """Ask ``ticks`` to finish: the open connection is closed and no retry is made."""
        self._stopping.set()
        if self._connection is not None:
            self._connection.transport.abort()

    async def ticks(self) -> AsyncGenerator[Tick, None]:
        """Yield ticks until stopped, reconnecting after failures and silences."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                async with aclosing(self._session()) as session:
                    async for tick in session:
                        attempt = 0  # the connection works: the next failure starts afresh
                        yield tick
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.warning("binance: connection to %s failed: %r", self.url, exc)
            if self._stopping.is_set():
                break
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            log.info("binance: reconnecting in %.2fs (attempt %d)", delay, attempt)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        log.info("binance: stopped")

    async def _session(self) -> AsyncGenerator[Tick, None]:
        """One connection's ticks; returns on silence or a close."""
        ping_interval, ping_timeout = self._pings
        open_timeout, close_timeout = self._timeouts
        async with connect(
            self.url,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            compression=None,
        ) as connection:
            self._connection = connection
            self.stats.connects += 1
            log.info("binance: connected to %s", self.url)
            try:
                while not self._stopping.is_set():
                    try:
                        async with asyncio.timeout(self._silence_s):
                            raw = await connection.recv()
                    except TimeoutError:
                        self.stats.silences += 1
                        log.warning("binance: no message for %.1fs, reconnecting", self._silence_s)
                        return
                    tick = self._accept(raw)
                    if tick is not None:
                        yield tick
            finally:
                self._connection = None
                self.stats.disconnects += 1

    def _accept(self, raw: str | bytes) -> Tick | None:
        self.stats.messages += 1
        # The engine refuses a tick older than the last: never let the wall clock go back.
        now = self._last_ts = max(self._last_ts, self._clock.now_ms())
        result = parse_book_ticker(raw, self.markets, now)
        if isinstance(result, Refusal):
            self.stats.refused[result.kind] += 1
            level = logging.DEBUG if result.kind is RefusalKind.CONTROL else logging.WARNING
            log.log(level, "binance: ignored a message (%s): %s", result.kind.value, result.reason)
            return None
        self.stats.ticks += 1
        self._freshness.seen(result.asset, now)
        return result
