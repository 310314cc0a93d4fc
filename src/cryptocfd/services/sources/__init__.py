"""Price sources for ``cryptocfd feed``: async iterators of Ticks, chosen by ``CRYPTOCFD_FEED``.

Every source has the same small surface (``TickSource``): ``ticks()`` yields ticks until the
source is stopped, its task cancelled or, for a replay, the file ends; ``stale_assets()`` says
which assets it has not quoted within their staleness limit; ``stop()`` asks it to finish.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.tick import Tick
from cryptocfd.market.binance import BINANCE_WS_URL, BinanceMarkets
from cryptocfd.services.sources.binance import BinanceSource
from cryptocfd.services.sources.replay import ReplaySource
from cryptocfd.services.sources.simulated import SimulatedSource

__all__ = [
    "BinanceSource",
    "ReplaySource",
    "SimulatedSource",
    "TickSource",
    "source_from_setting",
]

REPLAY_PREFIX = "replay:"


class TickSource(Protocol):
    """What the feed needs of a price source."""

    def ticks(self) -> AsyncGenerator[Tick, None]:
        """Yield ticks until stopped (or, for a replay, until the file ends); close it to end it."""
        ...

    def stale_assets(self) -> frozenset[str]:
        """The assets not quoted within their staleness limit."""
        ...

    def stop(self) -> None:
        """Ask ``ticks`` to finish."""
        ...


def source_from_setting(
    value: str,
    assets: Iterable[AssetSpec] = DEFAULT_ASSETS,
    *,
    binance_ws_url: str = BINANCE_WS_URL,
    binance_symbols: Mapping[str, str] | None = None,
    seed: int | None = None,
) -> TickSource:
    """Build the source ``CRYPTOCFD_FEED`` names: ``simulated``, ``binance`` or ``replay:PATH``.

    A replay is paced by its timestamps in real time and stamped from now on, so it can be
    traded against; build ``ReplaySource`` directly for other speeds.
    """
    specs = tuple(assets)
    choice = value.strip()
    if choice == "simulated":
        return SimulatedSource(specs, seed=seed)
    if choice == "binance":
        return BinanceSource(BinanceMarkets(specs, binance_symbols), binance_ws_url)
    if choice.startswith(REPLAY_PREFIX) and choice[len(REPLAY_PREFIX) :].strip():
        return ReplaySource(Path(choice[len(REPLAY_PREFIX) :].strip()), specs)
    raise ValueError(f"unknown feed {value!r}: expected simulated, binance or {REPLAY_PREFIX}PATH")
