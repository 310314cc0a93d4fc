"""Refusing to run the engine on a Redis that would lose acknowledged orders."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

log = logging.getLogger(__name__)


class EngineRefused(Exception):  # noqa: N818 - it is a refusal to start, not a failure mid-run
    """The engine will not start in this environment (for example, prod without AOF)."""

    exit_code = 2


async def check_durability(redis: Redis, *, prod: bool, allow_without_aof: bool) -> None:
    """Refuse, in prod, a Redis that would lose acknowledged orders on restart (no AOF)."""
    config = await redis.config_get("appendonly")
    if config.get("appendonly") == "yes":
        return
    message = "Redis runs without AOF: a Redis restart loses acknowledged orders"
    if prod and not allow_without_aof:
        raise EngineRefused(message + " (set CRYPTOCFD_ALLOW_REDIS_WITHOUT_AOF=1 to override)")
    log.warning(message)
