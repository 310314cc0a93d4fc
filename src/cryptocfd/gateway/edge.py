"""What every request meets before routing: the per-IP rate limit, and a frame ban on every answer.

Litestar's middleware runs only once a route matched, and authentication runs later still, so a
flood of unknown paths, websocket upgrades, ``/candles`` pages or forged tokens would never be
counted there. The limit wraps the app's ASGI handler instead (a ``BatchedCounter``: counts kept
in the process, shared through Redis), before the router and before any token or cookie is
looked at. ``/healthz`` is exempt, so a load balancer's probe stays one cheap answer. When Redis
is down the limit lets requests by (and says so in the log): the routes that need Redis answer
503 themselves, and ``/readyz`` says which dependency failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from redis.exceptions import RedisError

from cryptocfd.gateway.errors import ApiError, error_json
from cryptocfd.gateway.ratelimit import BatchedCounter, client_key, scope_ip

if TYPE_CHECKING:
    from collections.abc import Callable

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

UNCOUNTED = frozenset({"/healthz"})
CSP = b"content-security-policy"
NO_FRAMING = b"frame-ancestors 'none'"
XFO = b"x-frame-options"


async def forbid_framing(message: Message, _scope: Scope) -> None:
    """Forbid framing on every response (a ``before_send`` hook; see ``framing_forbidden``)."""
    if message["type"] == "http.response.start":
        message["headers"] = framing_forbidden(message.get("headers", ()))


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


class PerIpLimit:
    """Count every request against its client's IP before routing; refuse with 429 past it."""

    def __init__(self, resources: Callable[[], Resources], handler: ASGIApp) -> None:
        self.resources = resources
        self.handler = handler
        self.counter: BatchedCounter | None = None  # made on the first request, after startup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, unless its IP is over the limit."""
        if (
            scope["type"] in (ScopeType.HTTP, ScopeType.WEBSOCKET)
            and scope["path"] not in UNCOUNTED
        ):
            refusal = await self._count(scope)
            if refusal is not None:
                await refuse(scope, send, refusal)
                return
        await self.handler(scope, receive, send)

    async def _count(self, scope: Scope) -> ApiError | None:
        resources = self.resources()
        if self.counter is None:
            self.counter = BatchedCounter(resources.redis, resources.clock)
        key = f"{resources.prefix}rl:ip:{client_key(scope_ip(scope))}"
        try:
            await self.counter.hit(key, resources.settings.rate_per_ip_per_min)
        except ApiError as refusal:
            return refusal
        except RedisError as exc:
            log.warning("per-IP limit not counted, Redis failed: %s", type(exc).__name__)
        return None


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
