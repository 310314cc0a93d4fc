"""The stream and group names, under an optional key prefix (one per test run or tenant)."""

from __future__ import annotations

from dataclasses import dataclass

ENGINE_GROUP = "engine"
JOURNAL_GROUP = "journal"
CANDLES_GROUP = "candles"


@dataclass(frozen=True)
class Streams:
    """Names of the streams one engine and its clients share."""

    prefix: str = ""

    @property
    def commands(self) -> str:
        """Commands for the engine (consumer group ``engine``)."""
        return f"{self.prefix}stream:exness"

    @property
    def records(self) -> str:
        """The engine's replies and events: the source of truth."""
        return f"{self.prefix}stream:exnessReceive"

    @property
    def prices(self) -> str:
        """Feed ticks for the engine."""
        return f"{self.prefix}stream:prices"

    @property
    def ticks(self) -> str:
        """The pub/sub channel the feed publishes the same ticks on, for live fan-out."""
        return f"{self.prefix}channel:ticks"

    @property
    def views(self) -> str:
        """The engine's answers to queries: not the log, trimmed to a bound."""
        return f"{self.prefix}stream:exnessViews"
