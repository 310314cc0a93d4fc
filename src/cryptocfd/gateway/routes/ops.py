"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from cryptocfd.bus.client import EngineUnavailable
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.gateway.deps import ResourcesDep
from cryptocfd.gateway.engine_lead import lead_headers, update_lead_gauges
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.metrics import behind, groups_of, render_metrics
from cryptocfd.gateway.perip import scope_ip
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import Health
from cryptocfd.settings import Settings
from cryptocfd.store.supervision import read_view, view_path
from cryptocfd.trading.queries import GetPortfolio

READY_TIMEOUT_S = 2.0
JOURNAL_BEHIND_READY = 10_000  # records the journal may be behind the log and still be ready


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
async def readyz(resources: ResourcesDep) -> Response[Health]:
    """200 when every dependency answers within two seconds, else 503 saying which did not."""
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
    journal = await _journal_behind(resources)
    if journal is not None:
        checks["journal"] = journal
    processes = _processes_down(resources.settings, resources.clock.now_ms())
    if processes is not None:
        checks["processes"] = processes
    ready = all(state == "ok" for state in checks.values())
    status = 200 if ready else HTTP_503_SERVICE_UNAVAILABLE
    headers = await lead_headers(resources.redis, resources.prefix)  # which engine leads
    return Response(
        Health("ok" if ready else "unavailable", checks), status_code=status, headers=headers
    )


async def _journal_behind(resources: Resources) -> str | None:
    """What to say when the journal is too far behind the log (history, the ledger and
    reconciling all wait on it); None while it keeps up, or no worker has started yet."""
    try:
        groups = await asyncio.wait_for(
            groups_of(resources, Streams(resources.prefix).records), READY_TIMEOUT_S
        )
    except TimeoutError:
        return None  # Redis did not answer: its own check says so
    info = groups.get(JOURNAL_GROUP)
    if info is None or (count := behind(info)) <= JOURNAL_BEHIND_READY:
        return None
    return f"behind: {count} records not yet booked"


def _processes_down(settings: Settings, now_ms: int) -> str | None:
    """What the supervisor of ``cryptocfd up`` says is down, if anything (store.supervision)."""
    view = read_view(view_path(settings.state_path))
    down = [] if view is None else view.down()
    if not down:
        return None
    return "; ".join(
        f"{p.name} down (exit code {p.last_exit_code}, {p.restarts} restarts"
        + (
            f", next try in {max(0, p.next_start_ms - now_ms) / 1000:.1f} s)"
            if p.next_start_ms is not None
            else ")"
        )
        for p in down
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_scraper(settings: Settings, request: Request[Any, Any, Any]) -> None:
    """Let a scraper through: the metrics token when one is set, else loopback in ``dev``.

    Metrics name every route and how busy it is, so they are not for the public: with
    ``CRYPTOCFD_METRICS_TOKEN`` a scrape must bear it (401 otherwise); without one, only a
    ``dev`` process on this machine answers, and everyone else gets a 404.
    """
    if settings.metrics_token:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        token = settings.metrics_token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), token):
            raise ApiError(
                401,
                "UNAUTHENTICATED",
                "metrics need the metrics token",
                {"WWW-Authenticate": "Bearer"},
            )
    elif settings.env != "dev" or not _is_loopback(scope_ip(request.scope)):
        raise ApiError(404, "NOT_FOUND", "no such route")


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type="text/plain")
async def metrics(request: Request[Any, Any, Any], resources: ResourcesDep) -> Response[bytes]:
    """Request counts and latency by route, engine round trips, stream lag (metrics token)."""
    # The raw request: the scraper's bearer token and its address decide who may read.
    check_scraper(resources.settings, request)
    await update_lead_gauges(resources.redis, resources.prefix)
    body, content_type = await render_metrics(resources)
    return Response(body, media_type=content_type)


ROUTES = [healthz, readyz, metrics]
