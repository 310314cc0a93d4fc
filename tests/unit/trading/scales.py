"""An exit level a test holds as a plain int, at its scale for a ``ModifyPosition``."""

from __future__ import annotations

from msgspec import UnsetType

from cryptocfd.core.money import PriceTicks


def ticks_or_unset(value: int | UnsetType | None) -> PriceTicks | UnsetType | None:
    """``PriceTicks(value)``; ``UNSET`` (keep) and ``None`` (remove) pass as they are."""
    return PriceTicks(value) if isinstance(value, int) else value
