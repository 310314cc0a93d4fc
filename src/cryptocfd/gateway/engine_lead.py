"""Which engine leads, its epoch, the standby's lag and the last takeover, as ``/metrics``
gauges and ``/readyz`` headers, read from the engines' status hash (``bus.engine_status``).

``/readyz`` says it in headers, so its body (the checks) stays as it was.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cryptocfd.bus.engine_status import read_status
from cryptocfd.gateway.metrics import REGISTRY

LEADER = Gauge(
    "cryptocfd_engine_leader",
    "1 for the engine that holds the lease (by name), with its fencing epoch as a label",
    ["engine", "epoch"],
    registry=REGISTRY,
)
EPOCH = Gauge("cryptocfd_engine_epoch", "The leading engine's fencing epoch", registry=REGISTRY)
STANDBY_LAG = Gauge(
    "cryptocfd_engine_standby_lag_records",
    "Records the standby engine has yet to apply (-1: no standby has reported)",
    registry=REGISTRY,
)
TAKEOVER = Gauge(
    "cryptocfd_engine_last_takeover_timestamp_seconds",
    "When the leading engine took the lease (Unix time)",
    registry=REGISTRY,
)

READ_TIMEOUT_S = 2.0
HEADERS = {
    "leader": "X-Engine-Leader",
    "epoch": "X-Engine-Epoch",
    "standby_lag": "X-Engine-Standby-Lag",
    "takeover_ms": "X-Engine-Takeover-Ms",
}


async def engine_lead(redis: Redis, prefix: str) -> dict[str, str]:
    """The status hash's leader and standby fields (empty when Redis does not answer)."""
    try:
        return await asyncio.wait_for(read_status(redis, prefix), READ_TIMEOUT_S)
    except (RedisError, TimeoutError):
        return {}  # Redis's own check says so


async def lead_headers(redis: Redis, prefix: str) -> dict[str, str]:
    """``/readyz``'s headers saying who leads, its epoch, the standby's lag, the takeover."""
    status = await engine_lead(redis, prefix)
    return {header: status[field] for field, header in HEADERS.items() if field in status}


async def update_lead_gauges(redis: Redis, prefix: str) -> None:
    """Set the gauges from the status hash, read now."""
    status = await engine_lead(redis, prefix)
    LEADER.clear()
    if "leader" in status:
        LEADER.labels(status["leader"], status.get("epoch", "")).set(1)
    EPOCH.set(int(status.get("epoch", "0")))
    STANDBY_LAG.set(int(status.get("standby_lag", "-1")))
    TAKEOVER.set(int(status.get("takeover_ms", "0")) / 1000)
