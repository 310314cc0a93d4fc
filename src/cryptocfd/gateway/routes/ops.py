"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from cryptocfd.bus.client import EngineUnavailable
from cryptocfd.bus.messages import GetPortfolio
from cryptocfd.gateway.metrics import render_metrics
from cryptocfd.gateway.resources import resources_of
from cryptocfd.gateway.schemas import Health

READY_TIMEOUT_S = 2.0


@get("/healthz", summary="Alive", tags=["operations"])
async def healthz() -> Health:
    """The process answers."""
    return Health("ok")


@get(
    "/readyz",
    summary="Ready: Redis, PostgreSQL and the engine answer",
    tags=["operations"],
    responses={503: ResponseSpec(Health, description="A dependency did not answer")},
)
async def readyz(request: Request[Any, Any, Any]) -> Response[Health]:
    """200 when every dependency answers within two seconds, else 503 saying which did not."""
    resources = resources_of(request.app)
    checks: dict[str, str] = {}

    async def probe(name: str, call: Any) -> None:
        try:
            await asyncio.wait_for(call, READY_TIMEOUT_S)
        except (TimeoutError, EngineUnavailable, OSError, Exception) as exc:  # noqa: BLE001
            checks[name] = f"unavailable: {type(exc).__name__}"
        else:
            checks[name] = "ok"

    await asyncio.gather(
        probe("redis", resources.redis.ping()),
        probe("postgres", resources.pool.fetchval("SELECT 1")),
        # Any answer proves the engine is consuming commands, even "no such account".
        probe("engine", resources.engine.portfolio(GetPortfolio(f"ready:{uuid.uuid4().hex}", 0))),
    )
    ready = all(state == "ok" for state in checks.values())
    status = 200 if ready else HTTP_503_SERVICE_UNAVAILABLE
    return Response(Health("ok" if ready else "unavailable", checks), status_code=status)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type="text/plain")
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Request counts and latency by route, engine round trips, stream lag."""
    body, content_type = await render_metrics(resources_of(request.app))
    return Response(body, media_type=content_type)


ROUTES = [healthz, readyz, metrics]
