"""Rows of a replay CSV (``ts,asset,bid,ask``) into Ticks, with errors that name the line.

``ts`` is unix milliseconds; ``bid`` and ``ask`` are plain decimal strings. Prices with more
places than the asset quotes are rounded toward the house, as the live feed's are: the bid down,
the ask up. Timestamps may repeat but never go back, since the engine refuses an older tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.tick import Tick
from cryptocfd.market.binance import Refusal, round_quote

HEADER = ("ts", "asset", "bid", "ask")


class ReplayError(ValueError):
    """A replay file that cannot be played, with the line that says why."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


class ReplayRows:
    """Checks rows one at a time, remembering the last timestamp to keep them in order."""

    def __init__(self, assets: Iterable[AssetSpec]) -> None:
        self._specs = {spec.symbol: spec for spec in assets}
        self._last_ts: int | None = None

    def header(self, fields: Sequence[str], line: int) -> None:
        """Check the header row."""
        if tuple(field.strip() for field in fields) != HEADER:
            raise ReplayError(line, f"expected the header {','.join(HEADER)}")

    def tick(self, fields: Sequence[str], line: int) -> Tick:
        """The tick one data row describes, or a ReplayError naming ``line``."""
        if len(fields) != len(HEADER):
            raise ReplayError(line, f"expected {len(HEADER)} fields, found {len(fields)}")
        ts_text, asset, bid_text, ask_text = (field.strip() for field in fields)
        if not (ts_text.isascii() and ts_text.isdigit()):
            raise ReplayError(line, f"ts {ts_text!r} is not unix milliseconds")
        ts = int(ts_text)
        spec = self._specs.get(asset)
        if spec is None:
            raise ReplayError(line, f"unknown asset {asset!r}")
        quote = round_quote(bid_text, ask_text, spec.price_decimals)
        if isinstance(quote, Refusal):
            raise ReplayError(line, quote.reason)
        bid, ask = quote
        if self._last_ts is not None and ts < self._last_ts:
            raise ReplayError(line, f"ts {ts} goes back before {self._last_ts}")
        self._last_ts = ts
        return Tick(asset, bid, ask, ts)
