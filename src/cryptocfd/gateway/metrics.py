"""Prometheus metrics: requests by route, engine round trips, and how far consumers lag.

Each gateway process has its own registry; scrape every process (the usual way with
several workers behind one port is one scrape target per worker port).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from redis.exceptions import RedisError

from cryptocfd.bus.backlog import undelivered
from cryptocfd.bus.streams import CANDLES_GROUP, ENGINE_GROUP, JOURNAL_GROUP, Streams

if TYPE_CHECKING:
    from cryptocfd.gateway.resources import Resources

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "cryptocfd_http_requests",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "cryptocfd_http_request_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.001, 0.002, 0.003, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
ENGINE_ROUND_TRIP = Histogram(
    "cryptocfd_engine_round_trip_seconds",
    "From sending a command or query to the engine until its answer arrived",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0),
    registry=REGISTRY,
)
STREAM_LAG = Gauge(
    "cryptocfd_stream_lag",
    "Entries a consumer group has not yet been delivered, by stream and group",
    ["stream", "group"],
    registry=REGISTRY,
)


BEHIND = Gauge(
    "cryptocfd_consumer_behind",
    "Records the worker's consumers have yet to finish: delivered but unacknowledged, plus "
    "not yet delivered",
    ["stream", "group"],
    registry=REGISTRY,
)
WORKER_GROUPS = (JOURNAL_GROUP, CANDLES_GROUP)


def _text(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value


async def groups_of(resources: Resources, stream: str) -> dict[str, dict[str, object]]:
    """The consumer groups of ``stream`` by name (none when the stream does not exist), each
    ``lag`` counted rather than Redis's, which a restart can leave far too high (bus.backlog)."""
    try:
        groups = await resources.redis.xinfo_groups(stream)
        for info in groups:
            info["lag"] = await undelivered(resources.redis, stream, info)
    except RedisError:
        return {}
    return {str(_text(info.get("name"))): info for info in groups}


def behind(info: dict[str, object]) -> int:
    """How many records a group has yet to finish: pending plus undelivered (as ``groups_of``
    counts it)."""
    pending, lag = info.get("pending"), info.get("lag")
    return _count(pending) + _count(lag)


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | str | bytes) else 0


async def _update_lag(resources: Resources) -> None:
    streams = Streams(resources.prefix)
    for stream, group in (
        (streams.commands, ENGINE_GROUP),
        (streams.prices, ENGINE_GROUP),
        (streams.records, JOURNAL_GROUP),
    ):
        info = (await groups_of(resources, stream)).get(group)
        if info is not None and info.get("lag") is not None:
            STREAM_LAG.labels(stream, group).set(int(str(info["lag"])))
    records = await groups_of(resources, streams.records)
    for group in WORKER_GROUPS:
        if group in records:
            BEHIND.labels(streams.records, group).set(behind(records[group]))


async def render_metrics(resources: Resources) -> tuple[bytes, str]:
    """The exposition text, with stream lag read now."""
    await _update_lag(resources)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
