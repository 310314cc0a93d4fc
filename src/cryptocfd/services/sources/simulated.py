"""The simulated source: the seeded market of ``cryptocfd.market.simulated``, in real time.

Every ``interval_ms`` each asset gets one tick stamped with the wall clock, about ten a second
per asset by default. The schedule does not drift; a consumer that falls behind gets the next
step at once, not a burst of the missed ones.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Iterable

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.core.tick import Tick
from cryptocfd.market.freshness import Freshness
from cryptocfd.market.simulated import SimulatedFeed


class SimulatedSource:
    """Seeded simulated ticks for ``assets``."""

    def __init__(
        self,
        assets: Iterable[AssetSpec],
        *,
        seed: int | None = None,
        interval_ms: int = 100,
        clock: Clock = WALL,
    ) -> None:
        if interval_ms <= 0:
            raise ValueError("interval_ms must be positive")
        self._assets = tuple(assets)
        self._feed = SimulatedFeed(self._assets, random.Random(seed))  # noqa: S311 -- a model
        self._interval_ms = interval_ms
        self._clock = clock
        self._freshness = Freshness(self._assets)
        self._stopping = False

    def stale_assets(self) -> frozenset[str]:
        """The assets not ticked within their staleness limit (all of them before the first)."""
        return self._freshness.stale(self._clock.now_ms())

    def stop(self) -> None:
        """Finish ``ticks`` before its next step."""
        self._stopping = True

    async def ticks(self) -> AsyncGenerator[Tick, None]:
        """Yield one tick per asset every ``interval_ms``, until stopped."""
        due = now = self._clock.now_ms()
        while not self._stopping:
            now = max(now, self._clock.now_ms())  # the engine refuses a tick older than the last
            for tick in self._feed.step(now, self._interval_ms):
                self._freshness.seen(tick.asset, now)
                yield tick
            due = max(due + self._interval_ms, now)
            await asyncio.sleep(max(0, due - self._clock.now_ms()) / 1000)
