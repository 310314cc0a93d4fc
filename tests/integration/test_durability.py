"""In prod the engine refuses a Redis without AOF, unless the loss is explicitly accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from cryptocfd.services.engine.durability import EngineRefused, check_durability
from tests.integration.servers import private_redis


async def test_check_durability_when_prod_redis_has_no_aof_refuses_unless_allowed(
    tmp_path: Path,
) -> None:
    with private_redis(tmp_path, aof=False) as url:
        redis = Redis.from_url(url)
        try:
            with pytest.raises(EngineRefused, match="AOF"):
                await check_durability(redis, prod=True, allow_without_aof=False)
            await check_durability(redis, prod=True, allow_without_aof=True)
            await check_durability(redis, prod=False, allow_without_aof=False)
        finally:
            await redis.aclose()


async def test_check_durability_when_redis_has_aof_accepts_it_in_prod(tmp_path: Path) -> None:
    with private_redis(tmp_path, aof=True) as url:
        redis = Redis.from_url(url)
        try:
            await check_durability(redis, prod=True, allow_without_aof=False)
        finally:
            await redis.aclose()
