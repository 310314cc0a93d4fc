"""The feed's view of staleness: an asset is stale until quoted and again after its limit."""

from __future__ import annotations

from cryptocfd.core.assets import AssetSpec
from cryptocfd.market.freshness import Freshness

BTC = AssetSpec("BTC", "Bitcoin", 2, 6, 100, staleness_ms=1_000)
ETH = AssetSpec("ETH", "Ethereum", 2, 5, 100, staleness_ms=5_000)


def test_stale_when_nothing_was_quoted_lists_every_asset() -> None:
    assert Freshness([BTC, ETH]).stale(0) == {"BTC", "ETH"}


def test_stale_when_quotes_age_past_each_limit_lists_only_those_assets() -> None:
    freshness = Freshness([BTC, ETH])
    freshness.seen("BTC", 10_000)
    freshness.seen("ETH", 10_000)

    assert freshness.stale(11_000) == set()
    assert freshness.stale(11_001) == {"BTC"}
    assert freshness.fresh(11_001) == {"ETH"}
    assert freshness.stale(15_001) == {"BTC", "ETH"}
    assert freshness.last_seen("BTC") == 10_000
