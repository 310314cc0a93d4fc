"""The engine's consumer groups on its input streams, made once and then kept, and the inputs
an earlier leader was given and never acknowledged, claimed by the one that leads now."""

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


CLAIM_PAGE = 512


async def claim_pending(redis: Redis, streams: Streams, consumer: str) -> None:
    """Make every input pending in the ``engine`` group ``consumer``'s, whoever read it.

    Only the lease holder calls this, between batches, when nothing is in flight of its own:
    what is pending then was read by an engine that died or was fenced out before it could
    acknowledge it (under another consumer name, when the engines were given different ones),
    and reading ``"0"`` next applies it.
    """
    for stream in (streams.commands, streams.prices):
        start = "0-0"
        while True:
            # Not ``justid``: redis-py then drops the cursor from the reply.
            reply = await redis.xautoclaim(
                stream, ENGINE_GROUP, consumer, 0, start_id=start, count=CLAIM_PAGE
            )
            start = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
            if start == "0-0":
                break
