"""The simulated source and the choice of source by CRYPTOCFD_FEED."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from pathlib import Path

import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.tick import Tick
from cryptocfd.services.sources import (
    BinanceSource,
    ReplaySource,
    SimulatedSource,
    source_from_setting,
)


async def first_ticks(source: SimulatedSource, count: int) -> list[Tick]:
    async with aclosing(source.ticks()) as ticks:
        return [await anext(ticks) for _ in range(count)]


async def test_simulated_when_running_ticks_every_asset_about_ten_times_a_second() -> None:
    source = SimulatedSource(DEFAULT_ASSETS, seed=7)
    loop = asyncio.get_running_loop()
    started = loop.time()

    ticks = await first_ticks(source, 3 * len(DEFAULT_ASSETS) + 1)

    elapsed = loop.time() - started
    assert 0.28 <= elapsed < 2.0  # three 100 ms steps before the fourth begins
    assert {t.asset for t in ticks} == {a.symbol for a in DEFAULT_ASSETS}
    assert all(0 < t.bid < t.ask for t in ticks)
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
    assert source.stale_assets() == set()


async def test_simulated_when_seeded_alike_gives_the_same_prices() -> None:
    one = await first_ticks(SimulatedSource(DEFAULT_ASSETS, seed=3, interval_ms=1), 30)
    two = await first_ticks(SimulatedSource(DEFAULT_ASSETS, seed=3, interval_ms=1), 30)

    assert [(t.asset, t.bid, t.ask) for t in one] == [(t.asset, t.bid, t.ask) for t in two]


def test_source_from_setting_when_given_each_feed_builds_its_source(tmp_path: Path) -> None:
    binance = source_from_setting("binance", binance_ws_url="ws://127.0.0.1:1")
    replay = source_from_setting(f"replay:{tmp_path / 'ticks.csv'}")

    assert isinstance(source_from_setting("simulated"), SimulatedSource)
    assert isinstance(binance, BinanceSource)
    assert binance.url.startswith("ws://127.0.0.1:1/stream?streams=btcusdt@bookTicker/")
    assert isinstance(replay, ReplaySource)
    assert replay.path == tmp_path / "ticks.csv"


@pytest.mark.parametrize("value", ["", "kraken", "replay:", "replay: "])
def test_source_from_setting_when_the_feed_is_unknown_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="unknown feed"):
        source_from_setting(value)
