"""The replay source: ticks from a CSV of ``ts,asset,bid,ask``, paced or as fast as possible.

Rows are read and checked one at a time, so a long file starts playing at once and a bad row
stops the replay with its line number (``ReplayError``) after the good rows before it. With
``speed`` set, ticks are spaced as their timestamps are, divided by ``speed``; with None, they
come as fast as the consumer takes them. With ``shift_to_now`` the first tick is stamped with
the time the replay started and the others keep their spacing, so a recording can be traded
against: the engine judges staleness from tick timestamps.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncGenerator, Iterable
from pathlib import Path

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.core.tick import Tick
from cryptocfd.market.freshness import Freshness
from cryptocfd.market.replay import ReplayError, ReplayRows

__all__ = ["ReplayError", "ReplaySource"]


class ReplaySource:
    """Ticks from the CSV at ``path``, for ``assets``."""

    def __init__(
        self,
        path: Path,
        assets: Iterable[AssetSpec],
        *,
        speed: float | None = 1.0,
        shift_to_now: bool = True,
        clock: Clock = WALL,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("replay speed must be positive (or None: as fast as possible)")
        self.path = path
        self._assets = tuple(assets)
        self._speed = speed
        self._shift = shift_to_now
        self._clock = clock
        self._freshness = Freshness(self._assets)
        self._stopping = False

    def stale_assets(self) -> frozenset[str]:
        """The assets not replayed within their staleness limit, by the wall clock."""
        return self._freshness.stale(self._clock.now_ms())

    def stop(self) -> None:
        """Finish ``ticks`` before its next tick."""
        self._stopping = True

    async def ticks(self) -> AsyncGenerator[Tick, None]:
        """Yield the file's ticks; raise ReplayError at the first bad row."""
        rows = ReplayRows(self._assets)
        started = self._clock.now_ms()
        first_ts: int | None = None
        with self.path.open(newline="", encoding="utf-8") as file:
            reader = csv.reader(file)
            for fields in reader:
                if self._stopping:
                    return
                line = reader.line_num
                if line == 1:
                    rows.header(fields, line)
                    continue
                if not fields:
                    continue  # a blank line, as at the end of many hand-made files
                tick = rows.tick(fields, line)
                if first_ts is None:
                    first_ts = tick.ts
                offset = tick.ts - first_ts
                if self._speed is not None:
                    await self._pace(started + offset / self._speed)
                if self._shift:
                    tick = Tick(tick.asset, tick.bid, tick.ask, started + offset)
                self._freshness.seen(tick.asset, self._clock.now_ms())
                yield tick
            if first_ts is None:
                raise ReplayError(reader.line_num, "no ticks in the file")

    async def _pace(self, due_ms: float) -> None:
        wait_ms = due_ms - self._clock.now_ms()
        # Yield to the loop even when behind, so a fast replay cannot starve other tasks.
        await asyncio.sleep(max(0.0, wait_ms / 1000))
