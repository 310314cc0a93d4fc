"""A hot standby: while another engine leads, follow its records, applying each as recovery's
replay does, and take the lease once it is free (its holder stopped, died, or was paused past
its time to live).

It answers nothing and writes nothing but its own progress (``status``). It tries the lease on
the renewal cadence, between blocking reads of the records stream, so it is never more than a
few records behind the leader; once it holds the lease nobody else can write, so replaying the
log to its end catches up the last records for certain.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import stream_entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.services.engine.lease import Lease
from cryptocfd.services.engine.recovery import replay_record
from cryptocfd.services.engine.status import Status
from cryptocfd.trading.engine import Engine

log = logging.getLogger(__name__)

FOLLOW_PAGE = 1_000


async def follow(
    redis: Redis,
    streams: Streams,
    engine: Engine,
    after: str,
    lease: Lease,
    status: Status,
    stopping: asyncio.Event,
    clock: Clock = WALL,
) -> tuple[int, str]:
    """Follow the records after ``after`` until the lease is ours (or ``stopping``); how many
    were applied, and the last one's id."""
    applied = 0
    block_ms = max(1, int(lease.renew_s * 1000))
    tried = clock.monotonic_ns()
    while not stopping.is_set():
        if clock.monotonic_ns() - tried >= lease.renew_ns:  # not once a page while catching up
            tried = clock.monotonic_ns()
            if await lease.acquire():
                break
        reply = await redis.xread({streams.records: after}, count=FOLLOW_PAGE, block=block_ms)
        for _stream, page in stream_entries(reply):
            for entry_id, fields in page:
                replay_record(engine, decode_record(fields[FIELD]))
                after = entry_id.decode()
                applied += 1
        await status.following(after, engine, lease.renew_ns)
    return applied, after
