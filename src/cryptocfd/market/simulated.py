"""A seeded simulated feed: per-asset volatility, occasional jumps, a bid/ask spread.

Prices move as a geometric random walk in float log-space and leave here as integer ticks:
this is the edge where a model's numbers become prices, and no balance is ever computed here.
The caller passes the random source, so the same seed gives the same ticks.
"""

from __future__ import annotations

import math
from typing import Protocol

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick

MS_PER_YEAR = 365 * 86_400_000


class RandomSource(Protocol):
    """What the feed needs of ``random.Random``."""

    def random(self) -> float: ...
    def gauss(self, mu: float, sigma: float) -> float: ...


class Profile:
    """How one asset moves: start price, annualised volatility, spread and jump odds."""

    __slots__ = ("jump_chance", "jump_size", "spread_bps", "start", "volatility")

    def __init__(
        self,
        start: float,
        volatility: float,
        spread_bps: float,
        jump_chance: float = 1 / 20_000,
        jump_size: float = 0.015,
    ) -> None:
        self.start = start
        self.volatility = volatility
        self.spread_bps = spread_bps
        self.jump_chance = jump_chance
        self.jump_size = jump_size


PROFILES: dict[str, Profile] = {
    "BTC": Profile(97_000.0, 0.55, 1.0),
    "ETH": Profile(3_400.0, 0.70, 1.5),
    "SOL": Profile(190.0, 0.95, 3.0),
    "BNB": Profile(690.0, 0.60, 2.5),
    "XRP": Profile(2.30, 0.90, 4.0),
    "DOGE": Profile(0.32, 1.10, 6.0),
}
FALLBACK = Profile(100.0, 0.80, 5.0)


class SimulatedFeed:
    """Ticks for every asset, one call per asset per step."""

    def __init__(self, assets: tuple[AssetSpec, ...], rng: RandomSource) -> None:
        self._assets = assets
        self._rng = rng
        self._log_price = {
            a.symbol: math.log(PROFILES.get(a.symbol, FALLBACK).start) for a in assets
        }

    def tick(self, spec: AssetSpec, ts: int, dt_ms: int) -> Tick:
        """Move ``spec``'s price on by ``dt_ms`` of simulated time and quote it."""
        profile = PROFILES.get(spec.symbol, FALLBACK)
        sigma = profile.volatility * math.sqrt(dt_ms / MS_PER_YEAR)
        step = self._rng.gauss(0.0, sigma)
        if self._rng.random() < profile.jump_chance:
            step += profile.jump_size * (1 if self._rng.random() < 0.5 else -1)
        self._log_price[spec.symbol] += step
        return self.quote(spec, ts)

    def quote(self, spec: AssetSpec, ts: int) -> Tick:
        """Quote ``spec``'s price as it stands, without moving it: on a new feed, the start."""
        profile = PROFILES.get(spec.symbol, FALLBACK)
        mid = math.exp(self._log_price[spec.symbol]) * 10**spec.price_decimals
        half = max(1, round(mid * profile.spread_bps / 20_000))
        centre = max(half + 1, round(mid))
        return Tick(spec.symbol, PriceTicks(centre - half), PriceTicks(centre + half), ts)

    def step(self, ts: int, dt_ms: int) -> list[Tick]:
        """One tick for every asset."""
        return [self.tick(spec, ts, dt_ms) for spec in self._assets]
