"""How many entries of a stream a consumer group has not been given yet: counted, not taken
from Redis's word.

``XINFO GROUPS`` reports a group's ``lag`` from a counter of entries read, and Redis 7.0 does
not write that counter's progress to the AOF (redis/redis#12898): after a restart from an AOF
that was rewritten since, the counter is back at its value of the rewrite, and ``lag``
overstates the backlog by everything read after it, for ever. A journal that keeps up would
be reported tens of thousands of records behind, and ``/readyz`` would never be ready again.

So the entries after the group's last-delivered id are counted (a caught-up group has none or a
few), up to ``cap``; past it the reported lag stands, being at least as large.
"""

from __future__ import annotations

from redis.asyncio import Redis

from cryptocfd.bus.replies import entries

COUNT_CAP = 10_001  # enough to tell any readiness threshold of the platform (10,000) apart


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | str | bytes) else None


async def undelivered(
    redis: Redis, stream: str, group: dict[str, object], cap: int = COUNT_CAP
) -> int:
    """Entries of ``stream`` after the last-delivered id of ``group`` (an ``XINFO GROUPS``
    entry): exact up to ``cap``, else the reported lag (or ``cap``, if Redis cannot tell)."""
    reported = _int(group.get("lag"))
    if reported == 0:
        return 0  # the counter only ever lags behind the reads, so it never understates
    last = group.get("last-delivered-id")
    last_id = last.decode() if isinstance(last, bytes) else str(last)
    limit = cap if reported is None else min(reported, cap)
    counted = len(entries(await redis.xrange(stream, min=f"({last_id}", count=limit)))
    if counted < limit or reported is None:
        return counted
    return reported
