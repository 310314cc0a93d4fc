"""One-minute candles of the bid, aggregated from ticks in memory, and the intervals they roll into.

Charts are of the bid, as MetaTrader's are. A candle is named by the unix second its minute
starts. ``volume`` is MetaTrader's tick volume: how many quotes made the candle. ``trades`` is the
same count: the feeds we read (Binance bookTicker, the simulator) publish quotes, not trade prints,
so there is no separate number of trades to report; a trade feed would count its prints there.

Late and out-of-order ticks:

- within the open minute, a tick is merged by its timestamp: the earliest tick is the open and the
  latest the close, whatever order they arrived in (a tie keeps arrival order);
- a tick for a minute already closed is dropped and counted in ``dropped_late``: that candle has
  been handed on (and perhaps written), and a candle that changed after it was written would make
  the chart disagree with itself.

Minutes without ticks stay gaps: no candle is made up for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick

MINUTE_MS = 60_000
# Every interval's buckets count from Monday 2000-01-03 00:00 UTC, so weeks start on Mondays and
# every shorter bucket is aligned to midnight UTC (the same origin TimescaleDB's time_bucket uses).
BUCKET_ORIGIN_S = 946_857_600
INTERVALS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1_800,
    "1h": 3_600,
    "4h": 14_400,
    "1d": 86_400,
    "1w": 604_800,
}
MAX_LIMIT = 5_000
MAX_TIME_S = 253_402_300_799  # 9999-12-31 23:59:59 UTC: the last second a datetime can hold
DEFAULT_LIMIT = 500


class Candle(msgspec.Struct, frozen=True, gc=False):
    """One asset's candle: bid prices in the asset's ticks, ``time_s`` its bucket's start."""

    asset: str
    time_s: int
    open: PriceTicks
    high: PriceTicks
    low: PriceTicks
    close: PriceTicks
    volume: int
    trades: int


class CandleRow(msgspec.Struct, frozen=True, gc=False):
    """A candle as a chart reads it: one asset's, so without the asset."""

    time_s: int
    open: PriceTicks
    high: PriceTicks
    low: PriceTicks
    close: PriceTicks
    volume: int
    trades: int


def bucket_start(time_s: int, interval: str) -> int:
    """The start of the ``interval`` bucket holding ``time_s`` (unix seconds)."""
    width = INTERVALS[interval]
    return time_s - (time_s - BUCKET_ORIGIN_S) % width


class _Open:
    """The candle being built: mutable, so a tick costs a few comparisons."""

    __slots__ = ("close", "close_ts", "count", "high", "low", "minute", "open", "open_ts")

    def __init__(self, minute: int, bid: PriceTicks, ts: int) -> None:
        self.minute = minute
        self.open = self.high = self.low = self.close = bid
        self.open_ts = self.close_ts = ts
        self.count = 1

    def add(self, bid: PriceTicks, ts: int) -> None:
        self.count += 1
        self.high = max(self.high, bid)
        self.low = min(self.low, bid)
        if ts < self.open_ts:
            self.open, self.open_ts = bid, ts
        if ts >= self.close_ts:
            self.close, self.close_ts = bid, ts

    def candle(self, asset: str) -> Candle:
        return Candle(
            asset,
            self.minute * 60,
            self.open,
            self.high,
            self.low,
            self.close,
            self.count,
            self.count,
        )


class CandleAggregator:
    """Per asset, the open one-minute candle; closed candles are handed back as they close."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}
        self._closed_through: dict[str, int] = {}  # asset -> the last minute handed on
        self.dropped_late = 0

    def add(self, tick: Tick) -> list[Candle]:
        """Fold ``tick`` in; return the candle it closed, if it began a later minute."""
        minute = tick.ts // MINUTE_MS
        current = self._open.get(tick.asset)
        if current is not None and minute == current.minute:
            current.add(tick.bid, tick.ts)
            return []
        if current is not None and minute > current.minute:
            self._open[tick.asset] = _Open(minute, tick.bid, tick.ts)
            self._closed_through[tick.asset] = current.minute
            return [current.candle(tick.asset)]
        if current is None and minute > self._closed_through.get(tick.asset, minute - 1):
            self._open[tick.asset] = _Open(minute, tick.bid, tick.ts)
            return []
        self.dropped_late += 1
        return []

    def add_many(self, ticks: Iterable[Tick]) -> list[Candle]:
        """Fold every tick in, in order; return the candles they closed."""
        closed: list[Candle] = []
        for tick in ticks:
            closed.extend(self.add(tick))
        return closed

    def flush(self, now_ms: int | None = None) -> list[Candle]:
        """Close the open candles whose minute is over by ``now_ms``; every one when it is None.

        A feed calls this on a timer, so a quiet asset's last candle is written without waiting
        for its next tick, and once on shutdown with no argument.
        """
        closed: list[Candle] = []
        for asset, current in list(self._open.items()):
            if now_ms is None or (current.minute + 1) * MINUTE_MS <= now_ms:
                del self._open[asset]
                self._closed_through[asset] = current.minute
                closed.append(current.candle(asset))
        return closed

    def open_candle(self, asset: str) -> Candle | None:
        """``asset``'s candle still being built, for a chart whose newest candle is live."""
        current = self._open.get(asset)
        return None if current is None else current.candle(asset)

    def open_candles(self) -> list[Candle]:
        """Every asset's open candle."""
        return [current.candle(asset) for asset, current in self._open.items()]


def merge_open_candle(
    rows: Sequence[CandleRow], live: Candle | None, interval: str
) -> list[CandleRow]:
    """Stored ``rows`` (ascending) with the live one-minute candle folded into the newest bucket.

    The open minute is never stored yet, so it either extends the last bucket (same start) or
    begins a new one after it; a live candle older than the last stored bucket is ignored.
    """
    merged = list(rows)
    if live is None:
        return merged
    start = bucket_start(live.time_s, interval)
    last = merged[-1] if merged else None
    if last is None or last.time_s < start:
        merged.append(
            CandleRow(start, live.open, live.high, live.low, live.close, live.volume, live.trades)
        )
    elif last.time_s == start:
        merged[-1] = CandleRow(
            start,
            last.open,
            max(last.high, live.high),
            min(last.low, live.low),
            live.close,
            last.volume + live.volume,
            last.trades + live.trades,
        )
    return merged


class CandleQueryError(ValueError):
    """A candle query that cannot be answered as asked; ``code`` is stable (the API's 400 code).

    Codes: ``UNKNOWN_ASSET``, ``UNKNOWN_INTERVAL``, ``INVALID_RANGE`` (``from`` after ``to``, or a
    time outside 0..``MAX_TIME_S``), ``LIMIT_OUT_OF_RANGE`` (not 1..``MAX_LIMIT``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CandleQuery(msgspec.Struct, frozen=True):
    """A validated query: candles of ``asset`` whose bucket starts in ``[start_s, end_s]``.

    With ``start_s`` set, the first ``limit`` candles from it; without, the newest ``limit`` up to
    ``end_s`` (or up to now). Either way they come back oldest first.
    """

    asset: str
    interval: str
    start_s: int | None
    end_s: int | None
    limit: int


def validate_candle_query(
    asset: str,
    interval: str,
    start_s: int | None,
    end_s: int | None,
    limit: int,
    assets: Iterable[str],
) -> CandleQuery:
    """The query, checked against the known ``assets``; raise ``CandleQueryError`` otherwise."""
    if asset not in set(assets):
        raise CandleQueryError("UNKNOWN_ASSET", f"unknown asset {asset!r}")
    if interval not in INTERVALS:
        choices = ", ".join(INTERVALS)
        raise CandleQueryError("UNKNOWN_INTERVAL", f"interval must be one of {choices}")
    for bound in (start_s, end_s):
        if bound is not None and not 0 <= bound <= MAX_TIME_S:
            raise CandleQueryError(
                "INVALID_RANGE", f"from and to are unix seconds, 0..{MAX_TIME_S}"
            )
    if start_s is not None and end_s is not None and start_s > end_s:
        raise CandleQueryError("INVALID_RANGE", "from is after to")
    if not 1 <= limit <= MAX_LIMIT:
        raise CandleQueryError("LIMIT_OUT_OF_RANGE", f"limit must be 1..{MAX_LIMIT}")
    return CandleQuery(asset, interval, start_s, end_s, limit)
