"""What every request meets at the edge of the app, in one ASGI wrapper around it.

Before routing: the per-IP rate limit. Litestar's middleware runs only once a route matched,
and authentication runs later still, so a flood of unknown paths, websocket upgrades,
``/candles`` pages or forged tokens would never be counted there. The limit is a
``BatchedCounter`` (counts kept in the process, shared through Redis), counted before any token
or cookie is looked at. ``/healthz`` is exempt, so a load balancer's probe stays one cheap
answer. When Redis is down the limit lets requests by (and says so in the log): the routes that
need Redis answer 503 themselves, and ``/readyz`` says which dependency failed.

Around every HTTP request: an id (the client's ``X-Request-ID`` when it is sane, else a new one),
echoed in the answer and bound to every log line while it is served; the access line (the path
without its query string, where sign-in tokens travel) and the request's metrics under its
route template; a frame ban on every answer; and the ``Allow`` header of ``OPTIONS`` answers
rewritten from the routes as the app finally holds them. Litestar 2 builds a path's automatic
``OPTIONS`` handler when the path's first handler is registered and keeps it when more join
later, so ``OPTIONS /api/v1/trade/close`` said ``POST`` alone though ``GET`` is served there too
(litestar-org/litestar#4169, fixed only in Litestar 3).

One wrapper, not a middleware each: a request crosses one layer of ours on the way in and out.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from redis.exceptions import RedisError

from cryptocfd.gateway.errors import ApiError, error_json
from cryptocfd.gateway.metrics import LATENCY, REQUESTS
from cryptocfd.gateway.perip import BatchedCounter

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Litestar
    from litestar.types import (
        ASGIApp,
        HTTPResponseStartEvent,
        Message,
        Receive,
        Scope,
        Send,
        WebSocketResponseStartEvent,
    )

    from cryptocfd.gateway.resources import Resources

log = logging.getLogger(__name__)
_access = structlog.get_logger("cryptocfd.access")

UNCOUNTED = frozenset({"/healthz"})
CSP = b"content-security-policy"
NO_FRAMING = b"frame-ancestors 'none'"
XFO = b"x-frame-options"
REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


def framing_forbidden(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``frame-ancestors 'none'`` in the policy and ``X-Frame-Options``.

    A response with a policy of its own (the dashboard's) keeps it, with the clause added when
    it lacks one; any other gets a policy of just that clause, so no page of ours can be framed
    by another site to trick a click. An ``X-Frame-Options`` already there is kept, not doubled
    (two values make browsers ignore the header).
    """
    headers = list(headers)
    names = [name.lower() for name, _ in headers]
    if CSP in names:
        index = names.index(CSP)
        name, value = headers[index]
        if b"frame-ancestors" not in value:
            headers[index] = (name, value + b"; " + NO_FRAMING)
    else:
        headers.append((CSP, NO_FRAMING))
    if XFO not in names:
        headers.append((XFO, b"DENY"))  # browsers older than CSP level 2
    return headers


class Edge:
    """The app's ASGI handler, wrapped: counted per IP, then served with its id, logs, metrics
    and headers (see the module's text)."""

    def __init__(
        self, resources: Callable[[], Resources], handler: ASGIApp, *, access_log: bool = True
    ) -> None:
        self.resources = resources
        self.handler = handler
        self.access_log = access_log
        self.counter: BatchedCounter | None = None  # made on the first request, after startup
        self.allowed: dict[str, bytes] | None = None  # the routes are final once one arrives

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, unless its IP is over the limit."""
        kind = scope["type"]
        if kind not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            await self.handler(scope, receive, send)
            return
        if scope["path"] not in UNCOUNTED:
            refusal = await self._count(scope)
            if refusal is not None:
                await refuse(scope, send, refusal)
                return
        if kind == ScopeType.HTTP:
            await self._serve(scope, receive, send)
        else:
            await self.handler(scope, receive, send)

    async def _count(self, scope: Scope) -> ApiError | None:
        resources = self.resources()
        if self.counter is None:
            self.counter = BatchedCounter(resources.redis, resources.clock)
        try:
            limit = resources.settings.rate_per_ip_per_min
            await self.counter.hit_client(resources.prefix, scope, limit)
        except ApiError as refusal:
            return refusal
        except RedisError as exc:
            log.warning("per-IP limit not counted, Redis failed: %s", type(exc).__name__)
        return None

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500

        async def send_headed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = framing_forbidden(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                if scope.get("method") == "OPTIONS":
                    headers = self._with_allow(scope, headers)
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.handler(scope, receive, send_headed)
            finally:
                route = scope.get("path_template") or "unmatched"
                method = scope.get("method", "")
                elapsed = time.perf_counter() - started
                REQUESTS.labels(method, route, str(status)).inc()
                LATENCY.labels(method, route).observe(elapsed)
                if self.access_log or status >= 500:
                    _access.info(
                        "request",
                        method=method,
                        path=scope.get("path"),  # never the query string: tokens travel there
                        route=scope.get("path_template"),
                        status=status,
                        ms=round(elapsed * 1000, 3),
                    )

    def _with_allow(
        self, scope: Scope, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        if self.allowed is None:
            self.allowed = allowed_methods(scope["litestar_app"])
        allow = self.allowed.get(scope.get("path_template", ""))
        if allow is None:
            return headers
        return [*((k, v) for k, v in headers if k.lower() != b"allow"), (b"allow", allow)]


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SANE_ID.match(value):
            return str(value.decode())
    return uuid.uuid4().hex


def allowed_methods(app: Litestar) -> dict[str, bytes]:
    """Each HTTP route's path template and the ``Allow`` value listing all its methods."""
    return {
        route.path_format: ", ".join(sorted(route.methods)).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }


async def refuse(scope: Scope, send: Send, error: ApiError) -> None:
    """Answer ``error`` as the API does, on an HTTP request or a websocket handshake."""
    body = error_json(error.code, error.message)
    # Sent before Litestar's ``before_send`` hooks could see it: forbid framing here.
    headers = framing_forbidden(
        [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in error.headers.items()),
        ]
    )
    if scope["type"] == ScopeType.HTTP:
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": error.status,
            "headers": headers,
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})
    elif "websocket.http.response" in (scope.get("extensions") or {}):
        refused: WebSocketResponseStartEvent = {
            "type": "websocket.http.response.start",
            "status": error.status,
            "headers": headers,
        }
        await send(refused)
        await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": error.code})
