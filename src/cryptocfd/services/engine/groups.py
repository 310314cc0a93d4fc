"""The engine's consumer groups on its input streams, made once and then kept."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from cryptocfd.bus.streams import ENGINE_GROUP, Streams


async def ensure_groups(redis: Redis, streams: Streams) -> None:
    """Create the ``engine`` group on the commands and prices streams (and the streams) unless
    it exists: a new group starts at the beginning, so no input sent before is skipped."""
    for stream in (streams.commands, streams.prices):
        try:
            await redis.xgroup_create(stream, ENGINE_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
