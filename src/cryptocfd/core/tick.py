"""A feed tick: the vocabulary the market feed speaks and the engine listens to."""

from __future__ import annotations

import msgspec

from cryptocfd.core.wire import Int, WirePrice


class Tick(msgspec.Struct, frozen=True, tag=True, gc=False):
    """A feed quote for one asset, in price ticks, before the house spread is added."""

    asset: str
    bid: WirePrice
    ask: WirePrice
    ts: Int
