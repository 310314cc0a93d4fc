"""The stream and group names, under an optional key prefix (one per test run or tenant)."""

from __future__ import annotations

from dataclasses import dataclass, field

ENGINE_GROUP = "engine"
JOURNAL_GROUP = "journal"
CANDLES_GROUP = "candles"


@dataclass(frozen=True)
class Streams:
    """Names of the streams one engine and its clients share.

    The names are made once, from the prefix, not on every read: the engine's loop and every
    request read them.
    """

    prefix: str = ""
    commands: str = field(init=False)
    """Commands for the engine (consumer group ``engine``)."""
    records: str = field(init=False)
    """The engine's replies and events: the source of truth."""
    prices: str = field(init=False)
    """Feed ticks for the engine."""
    ticks: str = field(init=False)
    """The pub/sub channel the feed publishes the same ticks on, for live fan-out."""
    views: str = field(init=False)
    """The engine's answers to queries: not the log, trimmed to a bound."""

    def __post_init__(self) -> None:
        names = {
            "commands": "stream:exness",
            "records": "stream:exnessReceive",
            "prices": "stream:prices",
            "ticks": "channel:ticks",
            "views": "stream:exnessViews",
        }
        for name, suffix in names.items():
            object.__setattr__(self, name, f"{self.prefix}{suffix}")  # frozen: set once, here
