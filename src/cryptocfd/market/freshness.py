"""Which assets a feed has quoted recently: the feed's own view of staleness.

The engine decides staleness for itself from tick and command timestamps; this is the feed's
side of it, so a feed can say which assets it has gone quiet on. Times are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptocfd.core.assets import AssetSpec


class Freshness:
    """The last time each asset was quoted, judged against the asset's staleness limit."""

    def __init__(self, assets: Iterable[AssetSpec]) -> None:
        self._limits = {spec.symbol: spec.staleness_ms for spec in assets}
        self._last: dict[str, int] = {}

    def seen(self, asset: str, now_ms: int) -> None:
        """Record a quote for ``asset`` at ``now_ms``."""
        self._last[asset] = now_ms

    def last_seen(self, asset: str) -> int | None:
        """When ``asset`` was last quoted, or None if never."""
        return self._last.get(asset)

    def stale(self, now_ms: int) -> frozenset[str]:
        """The assets never quoted, or last quoted longer ago than their staleness limit."""
        return frozenset(
            asset
            for asset, limit in self._limits.items()
            if (last := self._last.get(asset)) is None or now_ms - last > limit
        )

    def fresh(self, now_ms: int) -> frozenset[str]:
        """The assets quoted within their staleness limit."""
        return frozenset(self._limits) - self.stale(now_ms)
