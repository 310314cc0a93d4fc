"""The first start's seed: when ``up`` seeds, and the backward walk it seeds with."""

from __future__ import annotations

import random

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.market.candles import MINUTE_MS
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.services.backfill import MAX_TICKS, MIN_TICKS, BackwardWalk
from cryptocfd.services.up import seeds_history
from cryptocfd.settings import Settings
from cryptocfd.trading.ticks import house_quote

DAY_START_MS = 1_700_006_400_000  # a whole day in unix ms


def test_seeds_history_when_dev_with_the_simulated_feed_only() -> None:
    assert seeds_history(Settings())
    assert not seeds_history(Settings(seed_days=0))
    assert not seeds_history(Settings(feed="binance"))
    assert not seeds_history(Settings(env="prod", secret_key="k" * 40))


def test_backward_walk_when_walking_a_day_ends_at_the_feeds_start_as_the_house_quotes_it() -> None:
    walk = BackwardWalk(DEFAULT_ASSETS, random.Random(3))
    for spec in DEFAULT_ASSETS:
        ticks = walk.day(spec, DAY_START_MS)
        start = SimulatedFeed(DEFAULT_ASSETS, random.Random(0)).quote(spec, 0)

        assert (ticks[-1].bid, ticks[-1].ask) == house_quote(spec, start.bid, start.ask)
        times = [t.ts for t in ticks]
        assert times == sorted(times)
        assert times[0] >= DAY_START_MS and times[-1] < DAY_START_MS + 1_440 * MINUTE_MS
        assert MIN_TICKS * 1_440 <= len(ticks) <= MAX_TICKS * 1_440
        assert len({t.bid for t in ticks}) > 100  # it walks


def test_backward_walk_when_a_day_before_is_asked_continues_into_the_next_without_a_jump() -> None:
    walk = BackwardWalk(DEFAULT_ASSETS, random.Random(5))
    spec = DEFAULT_ASSETS[0]
    newer = walk.day(spec, DAY_START_MS)
    older = walk.day(spec, DAY_START_MS - 1_440 * MINUTE_MS)

    assert older[-1].ts < newer[0].ts
    # At most two minutes apart: one step of the walk, about 10 bp at BTC's 0.55 volatility, where
    # a walk that began again from the start price each day would be a day's drift (~300 bp) off.
    assert abs(older[-1].bid - newer[0].bid) * 10_000 <= 60 * newer[0].bid
    assert older[-1].ts >= DAY_START_MS - MINUTE_MS
