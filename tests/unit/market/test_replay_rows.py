"""Replay CSV rows: good rows become ticks, rounded toward the house; a bad row names its line."""

from __future__ import annotations

import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.market.replay import ReplayError, ReplayRows


def test_tick_when_the_row_is_good_gives_the_tick_with_its_timestamp() -> None:
    rows = ReplayRows(DEFAULT_ASSETS)

    assert rows.tick(["1700000000000", "BTC", "97000.01", "97000.029"], 2) == Tick(
        "BTC", PriceTicks(9_700_001), PriceTicks(9_700_003), 1_700_000_000_000
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (["1", "BTC", "1.00"], "expected 4 fields"),
        (["1.5", "BTC", "1.00", "1.01"], "not unix milliseconds"),
        (["-1", "BTC", "1.00", "1.01"], "not unix milliseconds"),
        (["1", "ADA", "1.00", "1.01"], "unknown asset"),
        (["1", "BTC", "1e3", "1.01"], "bad price"),
        (["1", "BTC", "1.02", "1.01"], "crossed"),
        (["1", "BTC", "0", "1.01"], "positive"),
    ],
)
def test_tick_when_the_row_is_bad_raises_with_its_line_number(
    fields: list[str], problem: str
) -> None:
    with pytest.raises(ReplayError, match=f"^line 7: .*{problem}") as raised:
        ReplayRows(DEFAULT_ASSETS).tick(fields, 7)

    assert raised.value.line == 7


def test_tick_when_time_goes_back_raises_and_equal_times_pass() -> None:
    rows = ReplayRows(DEFAULT_ASSETS)
    rows.tick(["2000", "BTC", "1.00", "1.01"], 2)
    rows.tick(["2000", "ETH", "1.00", "1.01"], 3)

    with pytest.raises(ReplayError, match="line 4: ts 1999 goes back"):
        rows.tick(["1999", "BTC", "1.00", "1.01"], 4)


def test_header_when_it_is_not_ts_asset_bid_ask_raises_on_line_one() -> None:
    rows = ReplayRows(DEFAULT_ASSETS)
    rows.header(["ts", " asset", "bid", "ask"], 1)

    with pytest.raises(ReplayError, match="line 1: expected the header ts,asset,bid,ask"):
        rows.header(["time", "asset", "bid", "ask"], 1)
