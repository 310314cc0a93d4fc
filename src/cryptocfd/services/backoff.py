"""Capped exponential backoff with jitter, for every process that retries a peer."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter, capped: ``first_s``, doubling, never over ``cap_s``.

    Each delay is drawn from the upper half of its step ("equal jitter"), so reconnecting
    clients spread out without any of them retrying at once.
    """

    first_s: float = 0.5
    cap_s: float = 30.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s or self.factor < 1:
            raise ValueError("backoff needs 0 < first_s <= cap_s and factor >= 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        step = min(self.cap_s, self.first_s * self.factor ** min(attempt, 64))
        return step / 2 + rng.uniform(0, step / 2)
