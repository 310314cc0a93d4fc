"""The per-IP counter on real Redis: shared by gateways, within its documented slack."""

from __future__ import annotations

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.clock import ManualClock
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.perip import BATCH_SHARE, BatchedCounter


async def _allowed(
    counter: BatchedCounter, key: str, limit: int, tries: int, refusals: set[tuple[int, str]]
) -> int:
    """How many of ``tries`` hits pass; each refusal's status and code go into ``refusals``."""
    allowed = 0
    for _ in range(tries):
        try:
            await counter.hit(key, limit)
        except ApiError as refusal:
            refusals.add((refusal.status, refusal.code))
        else:
            allowed += 1
    return allowed


async def test_batched_counter_when_two_gateways_share_a_key_passes_at_most_one_percent_each(
    redis_client: Redis, streams: Streams
) -> None:
    clock = ManualClock()  # stands still: the whole test inside one window
    limit, key = 2_000, f"{streams.prefix}rl:ip:198.51.100.1"
    first, second = BatchedCounter(redis_client, clock), BatchedCounter(redis_client, clock)

    allowed, refusals = 0, set[tuple[int, str]]()
    for _ in range(30):  # the two gateways take turns, 100 requests at a time
        allowed += await _allowed(first, key, limit, 100, refusals)
        allowed += await _allowed(second, key, limit, 100, refusals)

    assert limit <= allowed <= limit + 2 * (limit // BATCH_SHARE)
    assert refusals == {(429, "RATE_LIMITED")}


async def test_batched_counter_when_the_limit_is_small_counts_every_hit_exactly(
    redis_client: Redis, streams: Streams
) -> None:
    clock = ManualClock()
    key = f"{streams.prefix}rl:ip:198.51.100.2"
    first, second = BatchedCounter(redis_client, clock), BatchedCounter(redis_client, clock)

    refusals = set[tuple[int, str]]()
    allowed = [
        await _allowed(first, key, 7, 4, refusals),
        await _allowed(second, key, 7, 4, refusals),
    ]

    assert allowed == [4, 3]
    assert refusals == {(429, "RATE_LIMITED")}
