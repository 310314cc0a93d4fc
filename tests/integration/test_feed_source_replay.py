"""The replay source over a CSV on disk: good rows become ticks, paced or not; a bad row stops the
replay with its line number."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.sources.replay import ReplayError, ReplaySource

GOOD = """ts,asset,bid,ask
1700000000000,BTC,97000.01,97000.02
1700000000100,ETH,3400.105,3400.111

1700000000300,BTC,97001.00,97001.50
"""


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ticks.csv"
    path.write_text(text, encoding="utf-8")
    return path


async def test_replay_when_unpaced_yields_every_row_with_its_own_timestamps(
    tmp_path: Path,
) -> None:
    source = ReplaySource(csv_file(tmp_path, GOOD), DEFAULT_ASSETS, speed=None, shift_to_now=False)

    ticks = [tick async for tick in source.ticks()]

    assert ticks == [
        Tick("BTC", PriceTicks(9_700_001), PriceTicks(9_700_002), 1_700_000_000_000),
        Tick("ETH", PriceTicks(340_010), PriceTicks(340_012), 1_700_000_000_100),
        Tick("BTC", PriceTicks(9_700_100), PriceTicks(9_700_150), 1_700_000_000_300),
    ]


async def test_replay_when_paced_spaces_ticks_by_their_timestamps_from_now(
    tmp_path: Path,
) -> None:
    source = ReplaySource(csv_file(tmp_path, GOOD), DEFAULT_ASSETS, speed=2.0)
    loop = asyncio.get_running_loop()
    started = loop.time()

    ticks = [tick async for tick in source.ticks()]

    elapsed = loop.time() - started
    # 300 ms of recording at double speed: 150 ms, less the event loop timers firing early
    assert 0.14 <= elapsed < 2.0
    assert [t.ts - ticks[0].ts for t in ticks] == [0, 100, 300]
    assert ticks[0].ts > 1_700_000_000_000  # stamped from the replay's start
    assert source.stale_assets() == {"SOL", "BNB", "XRP", "DOGE"}


async def test_replay_when_a_row_is_bad_yields_the_rows_before_it_then_names_its_line(
    tmp_path: Path,
) -> None:
    text = GOOD.replace("1700000000300,BTC,97001.00", "1700000000300,BTC,9.7e4")
    source = ReplaySource(csv_file(tmp_path, text), DEFAULT_ASSETS, speed=None)
    rows = source.ticks()
    ticks = [await anext(rows), await anext(rows)]

    with pytest.raises(ReplayError, match=r"line 5: bad price") as raised:
        await anext(rows)

    assert raised.value.line == 5
    assert [t.asset for t in ticks] == ["BTC", "ETH"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,asset,bid,ask\n", "line 1: expected the header"),
        ("ts,asset,bid,ask\n", "line 1: no ticks in the file"),
        ("ts,asset,bid,ask\n1,BTC,1.00\n", "line 2: expected 4 fields"),
    ],
)
async def test_replay_when_the_file_is_unplayable_says_why_with_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    source = ReplaySource(csv_file(tmp_path, text), DEFAULT_ASSETS, speed=None)

    with pytest.raises(ReplayError, match=message):
        _ = [tick async for tick in source.ticks()]


async def test_replay_when_stopped_ends_before_the_next_row(tmp_path: Path) -> None:
    source = ReplaySource(csv_file(tmp_path, GOOD), DEFAULT_ASSETS, speed=None)
    ticks: list[Tick] = []

    async for tick in source.ticks():
        ticks.append(tick)
        source.stop()

    assert len(ticks) == 1
