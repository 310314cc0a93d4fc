"""``OPTIONS`` answers with every method its path serves.

Litestar 2 builds a path's automatic ``OPTIONS`` handler when the first handler for that path
is registered, and keeps it when more handlers join the path later: ``OPTIONS
/api/v1/trade/close`` said ``POST`` alone, though ``GET`` is served there too (litestar-org/
litestar#4169, fixed only in Litestar 3). The ``Allow`` header is rewritten here from the
routes as the app finally holds them, the same methods a ``405`` lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(app: Litestar) -> dict[str, bytes]:
    """Each HTTP route's path template and the ``Allow`` value listing all its methods."""
    return {
        route.path_format: ", ".join(sorted(route.methods)).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }


class AllowMiddleware(ASGIMiddleware):
    """Give an ``OPTIONS`` answer the ``Allow`` header of its whole route."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self) -> None:
        self._allowed: dict[str, bytes] | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Pass the request on; on ``OPTIONS``, replace the answer's ``Allow`` header."""
        if scope.get("method") != "OPTIONS":
            await next_app(scope, receive, send)
            return
        if self._allowed is None:  # the routes are final once a request arrives
            self._allowed = allowed_methods(scope["litestar_app"])
        allow = self._allowed.get(scope.get("path_template", ""))

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and allow is not None:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await next_app(scope, receive, send_allow)
