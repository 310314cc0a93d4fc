"""The gateway application: routes, dependencies, errors, docs and metrics, from settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from cryptocfd.core.clock import WALL, Clock
from cryptocfd.gateway import docs, edge, web
from cryptocfd.gateway.deps import (
    ResourcesSlot,
    back_office,
    public_dependencies,
    signed_in_dependencies,
)
from cryptocfd.gateway.errors import EXCEPTION_HANDLERS
from cryptocfd.gateway.resources import open_resources
from cryptocfd.gateway.routes import (
    account,
    admin,
    apikeys,
    auth,
    devmail,
    live,
    market,
    ops,
    queues,
    risk,
    totp,
    trade,
    udf,
    verify,
    ws,
)
from cryptocfd.settings import Settings

API = "/api/v1"


def create_app(settings: Settings, clock: Clock = WALL) -> Litestar:
    """A gateway for ``settings`` reading time from ``clock``; connections open when the app
    starts."""
    slot = ResourcesSlot()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings, clock) as resources:
            slot.fill(resources)
            app.state.resources = resources  # for the demo reset alone (routes/account.py)
            try:
                yield
            finally:
                slot.fill(None)

    # Every request counts against its IP before routing (edge.Edge); trading writes
    # also count per user as they authenticate.
    private = Router(
        "/",
        route_handlers=[
            *auth.PRIVATE_ROUTES,
            *totp.ROUTES,
            *trade.ROUTES,
            *account.ROUTES,
            *apikeys.ROUTES,
            *market.PRIVATE_ROUTES,
            *live.ROUTES,
        ],
        dependencies=signed_in_dependencies(),
    )
    # In the order the API document lists them: a link asked for, spent, then refreshed.
    public = Router("/", route_handlers=[*auth.LINK_ROUTES, *verify.ROUTES, *auth.TOKEN_ROUTES])
    # Every back-office route is behind the operator's guard (deps.back_office).
    office = back_office(slot, [*admin.ROUTES, *queues.ROUTES, *risk.ROUTES])
    api = Router(
        API, route_handlers=[public, private, office, *market.ROUTES, *udf.ROUTES, *ws.ROUTES]
    )
    handlers: list[Any] = [*web.ROUTES, api, *ops.ROUTES, *docs.ROUTES]
    if settings.env == "dev" and not settings.smtp_host:  # only where mail goes nowhere else
        handlers.append(devmail.mailbox)
    app = Litestar(
        route_handlers=handlers,
        dependencies=public_dependencies(slot),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
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
        debug=False,
        logging_config=None,  # logs.configure_logging owns the handlers: JSON lines
    )
    app.asgi_handler = edge.Edge(slot, app.asgi_handler, access_log=settings.access_log)
    return app
