"""The gateway application: routes, dependencies, errors, docs and metrics, from settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from cryptocfd.gateway import docs, edge, web
from cryptocfd.gateway.allow import AllowMiddleware
from cryptocfd.gateway.auth import provide_principal
from cryptocfd.gateway.errors import EXCEPTION_HANDLERS
from cryptocfd.gateway.logs import RequestContextMiddleware
from cryptocfd.gateway.metrics import MetricsMiddleware
from cryptocfd.gateway.resources import open_resources
from cryptocfd.gateway.routes import account, auth, devmail, market, ops, trade, ws
from cryptocfd.settings import Settings

API = "/api/v1"


def create_app(settings: Settings) -> Litestar:
    """A gateway for ``settings``; connections open when the app starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            yield

    private = Router(
        "/",
        route_handlers=[*trade.ROUTES, *account.ROUTES, *market.PRIVATE_ROUTES],
        dependencies={"principal": Provide(provide_principal)},
    )
    # Every request counts against its IP before routing (edge.PerIpLimit); trading writes
    # also count per user as they authenticate.
    public = Router("/", route_handlers=auth.PUBLIC_ROUTES)
    api = Router(
        API,
        route_handlers=[public, *auth.PRIVATE_ROUTES, private, *market.ROUTES, *ws.ROUTES],
    )
    handlers: list[Any] = [*web.ROUTES, api, *ops.ROUTES, *docs.ROUTES]
    if settings.env == "dev" and not settings.smtp_host:  # only where mail goes nowhere else
        handlers.append(devmail.mailbox)
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            RequestContextMiddleware(access_log=settings.access_log),
            MetricsMiddleware(),
            AllowMiddleware(),
        ],
        openapi_config=OpenAPIConfig(
            title="CryptoCFD API",
            version="1.0.0",
            description=(
                "Trade crypto CFDs: long or short with margin and leverage. Amounts and "
                'prices are decimal strings. Errors are `{"error": {"code", "message"}}`.'
            ),
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
        before_send=[edge.forbid_framing],
        debug=False,
        logging_config=None,  # logs.configure_logging owns the handlers: JSON lines
    )
    app.asgi_handler = edge.PerIpLimit(app, app.asgi_handler)
    return app
