"""Every route under ``/api/v1/admin``, found by enumerating the app's own routes, refuses
whoever is not a raised operator: a stranger 401, a trader 403, an operator without the second
factor 401, and an API key 403 even with a good signature, before any body is read. A route
that names its roles (the ``ROLES`` opt) refuses an operator of another role."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, get
from litestar.routes import HTTPRoute

from cryptocfd.bus.streams import Streams
from cryptocfd.gateway.app import create_app
from cryptocfd.gateway.deps import (
    ROLES,
    OperatorCaller,
    ResourcesSlot,
    back_office,
    public_dependencies,
)
from cryptocfd.gateway.errors import EXCEPTION_HANDLERS
from cryptocfd.gateway.resources import open_resources
from cryptocfd.identity.roles import Role
from tests.integration.gateway_harness import Client, Gateway, gateway_settings
from tests.integration.operators import code_of, grant, new_email, raised_operator
from tests.integration.test_api_keys import make_key, signed_headers

ADMIN = "/api/v1/admin"
_PARAMETER = re.compile(r"\{[^}]*\}")


def admin_operations(app: Litestar) -> list[tuple[str, str]]:
    """Each ``(method, path)`` of the app under ``/api/v1/admin``, path parameters filled."""
    return sorted(
        (method, _PARAMETER.sub("1", route.path))
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(ADMIN)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method not in {"HEAD", "OPTIONS"}
    )


def _operations() -> list[tuple[str, str]]:
    # Never opened: building the app reads no connection.
    unused = Path("unused-state")
    settings = gateway_settings("redis://unused", "postgresql://unused", Streams("p:"), unused)
    return admin_operations(create_app(settings))


OPERATIONS = _operations()


def test_the_back_office_when_enumerated_has_routes() -> None:
    assert ("GET", f"{ADMIN}/audit") in OPERATIONS


async def _call(client: Client, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return await client.request(method, path, headers=headers, content=b"{not json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
async def test_an_admin_route_when_the_caller_is_not_a_raised_operator_is_refused(
    gateway: Gateway, method: str, path: str
) -> None:
    trader = await gateway.sign_in(new_email("trader"))
    email = new_email()
    unraised = await gateway.sign_in(email)
    # admin passes every route's roles (ROLES), so only the missing second factor refuses it.
    await grant(gateway, email, "admin")
    key = await make_key(gateway, await gateway.sign_in(email), scopes=["read", "trade"])

    stranger = await _call(gateway.client, method, path, {})
    as_trader = await _call(gateway.client, method, path, trader)
    as_unraised = await _call(gateway.client, method, path, unraised)
    as_key = await _call(gateway.client, method, path, signed_headers(key, b""))

    assert stranger.status_code == 401 and code_of(stranger) == "UNAUTHENTICATED"
    assert as_trader.status_code == 403 and code_of(as_trader) == "OPERATOR_ROLE_REQUIRED"
    assert as_unraised.status_code == 401 and code_of(as_unraised) == "SECOND_FACTOR_REQUIRED"
    assert as_key.status_code == 403 and code_of(as_key) == "API_KEY_NOT_ALLOWED"


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
async def test_an_admin_route_when_a_raised_token_is_spoiled_is_refused(
    gateway: Gateway, method: str, path: str
) -> None:
    operator = await raised_operator(gateway)
    token = operator.raised["Authorization"]
    forged = {"Authorization": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")}

    answer = await _call(gateway.client, method, path, forged)

    assert answer.status_code == 401 and code_of(answer) == "UNAUTHENTICATED"


@get("/risk-only", opt={ROLES: frozenset({Role.RISK, Role.ADMIN})}, sync_to_thread=False)
def risk_only(operator: OperatorCaller) -> dict[str, list[str]]:
    """A back-office route only the risk and admin roles may call."""
    return {"roles": sorted(operator.roles)}


async def test_an_admin_route_when_it_names_its_roles_refuses_the_other_roles(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway, "operator")
    risk = await raised_operator(gateway, "risk")
    slot = ResourcesSlot()
    app = Litestar(
        route_handlers=[back_office(slot, [risk_only])],
        dependencies=public_dependencies(slot),
        exception_handlers=EXCEPTION_HANDLERS,
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with (
        open_resources(gateway.settings) as resources,
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        slot.fill(resources)
        as_operator = await client.get("/admin/risk-only", headers=operator.raised)
        as_risk = await client.get("/admin/risk-only", headers=risk.raised)

    assert as_operator.status_code == 403 and code_of(as_operator) == "OPERATOR_ROLE_REQUIRED"
    assert "admin or risk" in as_operator.json()["error"]["message"]
    assert as_risk.status_code == 200 and as_risk.json() == {"roles": ["risk"]}
