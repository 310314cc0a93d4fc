"""Candle aggregation: OHLCV from ticks equals a naive computation; late ticks, gaps, flushing,
the live candle, bucket alignment and query validation."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.market.candles import (
    INTERVALS,
    MAX_LIMIT,
    Candle,
    CandleAggregator,
    CandleQueryError,
    CandleRow,
    bucket_start,
    merge_open_candle,
    validate_candle_query,
)

T0 = 1_764_028_800_000  # 2025-11-25 00:00 UTC, in ms
ASSETS = ("BTC", "ETH")


def tick(minute: int, second: float, bid: int, asset: str = "BTC") -> Tick:
    return Tick(
        asset, PriceTicks(bid), PriceTicks(bid + 10), T0 + minute * 60_000 + int(second * 1000)
    )


def naive_candles(ticks: list[Tick]) -> list[Candle]:
    """The reference: drop ticks older than the newest minute seen, then group by minute."""
    newest: dict[str, int] = {}
    groups: dict[tuple[str, int], list[tuple[int, int, int]]] = defaultdict(list)
    for arrival, t in enumerate(ticks):
        minute = t.ts // 60_000
        if minute < newest.get(t.asset, minute):
            continue
        newest[t.asset] = minute
        groups[t.asset, minute].append((t.ts, arrival, t.bid))
    candles = []
    for (asset, minute), quotes in groups.items():
        bids = [bid for _ts, _arrival, bid in quotes]
        first = min(quotes)[2]  # earliest timestamp, earliest arrival on a tie
        last = max(quotes)[2]  # latest timestamp, latest arrival on a tie
        count = len(quotes)
        candles.append(
            Candle(
                asset,
                minute * 60,
                PriceTicks(first),
                PriceTicks(max(bids)),
                PriceTicks(min(bids)),
                PriceTicks(last),
                count,
                count,
            )
        )
    return sorted(candles, key=lambda c: (c.asset, c.time_s))


ticks_strategy = st.lists(
    st.builds(
        Tick,
        st.sampled_from(ASSETS),
        st.integers(1, 1_000_000),
        st.just(0),
        st.integers(T0, T0 + 6 * 60_000),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(ticks_strategy)
def test_aggregate_when_ticks_arrive_in_any_order_matches_the_naive_candles(
    ticks: list[Tick],
) -> None:
    aggregator = CandleAggregator()

    closed = aggregator.add_many(ticks) + aggregator.flush()

    assert sorted(closed, key=lambda c: (c.asset, c.time_s)) == naive_candles(ticks)
    kept = sum(c.volume for c in closed)
    assert aggregator.dropped_late == len(ticks) - kept


def test_add_when_tick_begins_a_later_minute_emits_the_closed_candle() -> None:
    aggregator = CandleAggregator()
    assert aggregator.add_many([tick(0, 1, 100), tick(0, 20, 130), tick(0, 40, 90)]) == []

    closed = aggregator.add(tick(1, 0, 110))

    assert closed == [
        Candle(
            "BTC",
            (T0 // 1000),
            PriceTicks(100),
            PriceTicks(130),
            PriceTicks(90),
            PriceTicks(90),
            3,
            3,
        )
    ]


def test_add_when_tick_is_for_an_already_closed_minute_drops_and_counts_it() -> None:
    aggregator = CandleAggregator()
    aggregator.add_many([tick(0, 1, 100), tick(1, 1, 200)])

    assert aggregator.add(tick(0, 59, 999)) == []

    assert aggregator.dropped_late == 1
    assert aggregator.flush() == [
        Candle(
            "BTC",
            T0 // 1000 + 60,
            PriceTicks(200),
            PriceTicks(200),
            PriceTicks(200),
            PriceTicks(200),
            1,
            1,
        )
    ]


def test_add_when_out_of_order_within_the_open_minute_merges_by_timestamp() -> None:
    aggregator = CandleAggregator()
    aggregator.add_many([tick(0, 30, 100), tick(0, 50, 120), tick(0, 5, 80), tick(0, 40, 150)])

    assert aggregator.open_candle("BTC") == Candle(
        "BTC", T0 // 1000, PriceTicks(80), PriceTicks(150), PriceTicks(80), PriceTicks(120), 4, 4
    )


def test_add_when_minutes_have_no_ticks_leaves_gaps() -> None:
    aggregator = CandleAggregator()

    closed = aggregator.add_many([tick(0, 1, 100), tick(3, 1, 105), tick(7, 1, 110)])
    closed += aggregator.flush()

    assert [c.time_s - T0 // 1000 for c in closed] == [0, 180, 420]


def test_flush_when_given_now_closes_only_minutes_that_are_over() -> None:
    aggregator = CandleAggregator()
    aggregator.add_many([tick(0, 1, 100, "BTC"), tick(1, 1, 200, "ETH")])

    closed = aggregator.flush(now_ms=T0 + 90_000)

    assert [c.asset for c in closed] == ["BTC"]
    assert aggregator.open_candle("BTC") is None
    assert [c.asset for c in aggregator.open_candles()] == ["ETH"]
    aggregator.add(tick(0, 30, 100, "BTC"))  # its minute was flushed: late
    assert aggregator.dropped_late == 1


def test_open_candle_when_no_ticks_yet_is_none() -> None:
    assert CandleAggregator().open_candle("BTC") is None


def test_bucket_start_when_weekly_starts_on_monday_midnight_utc() -> None:
    wednesday_noon = int(datetime(2026, 11, 25, 12, 30, tzinfo=UTC).timestamp())

    start = datetime.fromtimestamp(bucket_start(wednesday_noon, "1w"), UTC)

    assert start == datetime(2026, 11, 23, tzinfo=UTC)
    assert start.weekday() == 0


@pytest.mark.parametrize("interval", list(INTERVALS))
def test_bucket_start_when_any_interval_is_aligned_and_holds_the_time(interval: str) -> None:
    time_s = int(datetime(2026, 11, 25, 13, 47, 12, tzinfo=UTC).timestamp())

    start = bucket_start(time_s, interval)

    assert start <= time_s < start + INTERVALS[interval]
    assert start % 60 == 0


def row(time_s: int, o: int, h: int, lo: int, c: int, v: int) -> CandleRow:
    return CandleRow(time_s, PriceTicks(o), PriceTicks(h), PriceTicks(lo), PriceTicks(c), v, v)


def test_merge_open_candle_when_live_minute_is_in_the_last_bucket_extends_it() -> None:
    stored = [row(0, 10, 20, 5, 15, 3), row(3600, 15, 25, 12, 22, 4)]
    live = Candle(
        "BTC", 3600 + 1800, PriceTicks(22), PriceTicks(30), PriceTicks(11), PriceTicks(28), 2, 2
    )

    merged = merge_open_candle(stored, live, "1h")

    assert merged == [stored[0], row(3600, 15, 30, 11, 28, 6)]


def test_merge_open_candle_when_live_minute_begins_a_bucket_appends_it() -> None:
    stored = [row(0, 10, 20, 5, 15, 3)]
    live = Candle("BTC", 3600, PriceTicks(16), PriceTicks(17), PriceTicks(14), PriceTicks(15), 2, 2)

    assert merge_open_candle(stored, live, "1h") == [stored[0], row(3600, 16, 17, 14, 15, 2)]


def test_merge_open_candle_when_live_is_older_than_the_rows_ignores_it() -> None:
    stored = [row(3600, 10, 20, 5, 15, 3)]
    live = Candle("BTC", 60, PriceTicks(16), PriceTicks(17), PriceTicks(14), PriceTicks(15), 2, 2)

    assert merge_open_candle(stored, live, "1h") == stored
    assert merge_open_candle(stored, None, "1h") == stored


@pytest.mark.parametrize(
    ("asset", "interval", "start_s", "end_s", "limit", "code"),
    [
        ("NOPE", "1m", None, None, 10, "UNKNOWN_ASSET"),
        ("BTC", "2m", None, None, 10, "UNKNOWN_INTERVAL"),
        ("BTC", "1M", None, None, 10, "UNKNOWN_INTERVAL"),
        ("BTC", "1h", 200, 100, 10, "INVALID_RANGE"),
        ("BTC", "1h", -1, None, 10, "INVALID_RANGE"),
        ("BTC", "1h", None, 10**15, 10, "INVALID_RANGE"),
        ("BTC", "1h", None, None, 0, "LIMIT_OUT_OF_RANGE"),
        ("BTC", "1h", None, None, MAX_LIMIT + 1, "LIMIT_OUT_OF_RANGE"),
    ],
)
def test_validate_candle_query_when_invalid_raises_with_a_stable_code(
    asset: str, interval: str, start_s: int | None, end_s: int | None, limit: int, code: str
) -> None:
    with pytest.raises(CandleQueryError) as raised:
        validate_candle_query(asset, interval, start_s, end_s, limit, ASSETS)

    assert raised.value.code == code
    assert isinstance(raised.value, ValueError)


def test_validate_candle_query_when_valid_returns_the_query() -> None:
    query = validate_candle_query("ETH", "1w", 100, 100, MAX_LIMIT, ASSETS)

    assert (query.asset, query.interval, query.start_s, query.end_s, query.limit) == (
        "ETH",
        "1w",
        100,
        100,
        MAX_LIMIT,
    )
