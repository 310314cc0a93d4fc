"""``/openapi.json``, which adds what Litestar cannot see to its generated document: the bodies
handlers decode exactly (each handler's ``payload`` type, ``gateway.deps``), the error shape,
and the auth schemes.

The explorer that reads it, at ``/docs``, is a page of the ``web/`` build (``gateway/web.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.routes import HTTPRoute

from cryptocfd.core.accounts import AccountKind
from cryptocfd.gateway.acting import ACCOUNT_FIELD
from cryptocfd.gateway.body import schema_hook
from cryptocfd.gateway.deps import (
    API_SCOPE,
    FORM_BODY,
    ON_ACCOUNT,
    OPERATOR,
    PAYLOAD,
    PRINCIPAL,
    RAW_BODY,
    ResourcesDep,
    payload_type,
)
from cryptocfd.gateway.errors import ErrorBody
from cryptocfd.market.candles import INTERVALS, MAX_LIMIT, MAX_TIME_S
from cryptocfd.store.audit import CURSOR_PATTERN as AUDIT_CURSOR_PATTERN
from cryptocfd.store.history import CURSOR_PATTERN

# Route groups (tag, what it holds, its path prefixes): the explorer shows one section each.
GROUPS = (
    ("auth", "Sign in by emailed link or mobile PIN; tokens and sessions", ("/api/v1/auth/",)),
    ("trade", "Open, change, close and cancel orders; closed history", ("/api/v1/trade/",)),
    (
        "account",
        "Your demo and live accounts (which is active), balance, margin and the demo reset",
        ("/api/v1/balance", "/api/v1/account"),
    ),
    (
        "market",
        "Assets, quotes and candles; reading them needs no sign-in",
        (
            "/api/v1/time",
            "/api/v1/supportedAssets",
            "/api/v1/markets",
            "/api/v1/prices/",
            "/api/v1/candles",
        ),
    ),
    ("tradingview", "TradingView's UDF datafeed over the same candles", ("/api/v1/udf/",)),
    (
        "live",
        "KYC, and deposits and withdrawals of real money that operators approve",
        ("/api/v1/live/",),
    ),
    (
        "admin",
        "Operators only: a role granted on the command line, and a session or token raised "
        "by POST /auth/totp/verify (else 403 OPERATOR_ROLE_REQUIRED, 401 SECOND_FACTOR_REQUIRED)",
        ("/api/v1/admin/",),
    ),
    ("operations", "Liveness, readiness and metrics", ("/healthz", "/readyz", "/metrics")),
)
# Rules between a body's fields, which msgspec's schema of each field cannot state.
_GIVEN = {"not": {"type": "null"}}
BODY_RULES = {
    # gateway/usecases/trading.place_order: a side, or the older clients' type, must be given.
    "CreateOrderRequest": {
        "anyOf": [
            {"required": ["side"], "properties": {"side": _GIVEN}},
            {"required": ["type"], "properties": {"type": _GIVEN}},
        ]
    },
}
# Operations guarded by something other than a user's sign-in, when the gateway has the token:
# routes/ops.py lets a scraper through with the metrics token (without one, loopback in dev).
OWN_SECURITY: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("get", "/metrics"): [{"metrics": []}]
}
# Responses a handler documents itself, which the error shape must not replace (a 400 of
# its own is documented beside the error shape, which a malformed query still gets).
OWN_RESPONSES = {
    ("get", "/readyz", "503"),
    ("get", "/api/v1/udf/symbols", "400"),  # the protocol's own error shape
    ("get", "/api/v1/udf/history", "400"),
}
ERROR_STATUSES = {
    "400": "The request is malformed or refused by a rule; `error.code` says which",
    "401": (
        "Not signed in, the token expired or was revoked, a signature that does not hold, or "
        "a back-office route without the second factor"
    ),
    "403": (
        "A cookie-authenticated write without the session's X-CSRF-Token, an API key "
        "without the route's scope, off its allowlist, or on a route that takes none, or a "
        "back-office route without an operator's role"
    ),
    "413": "The body is larger than 16 KiB",
    "404": "No such order or route (another user's order is also 404)",
    "409": (
        "In conflict with what is there: an Idempotency-Key sent with another request, an "
        "order closed as it opened, the most API keys a user may hold, a second factor set "
        "up already, a live account not open yet (`LIVE_ACCOUNT_NOT_OPEN`), a reset of a "
        "live account (`NOT_A_DEMO_ACCOUNT`)"
    ),
    "422": (
        "Well-formed but refused now: insufficient balance, stale price, slippage…, or a "
        "value no schema can check (`INVALID_PUBLIC_KEY`), an `account` other than demo or "
        "live (`INVALID_ACCOUNT`) or named twice differently (`ACCOUNT_CONFLICT`)"
    ),
    "429": "Rate limited; `Retry-After` says when to come back",
    "503": (
        "The engine, Redis or PostgreSQL did not answer (`ENGINE_UNAVAILABLE`, "
        "`SERVICE_UNAVAILABLE`); retry with the same Idempotency-Key"
    ),
}


def signed_in_operations(app: Litestar) -> dict[tuple[str, str], str | None]:
    """The ``(method, path)`` of every handler that takes the signed-in caller (``principal``,
    or ``operator`` in the back office), and the API key scope it takes (``None``: no key)."""
    return {
        (method.lower(), route.path_format): handler.opt.get(API_SCOPE)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if {PRINCIPAL, OPERATOR} & handler.parsed_fn_signature.parameters.keys()
        for method in handler.http_methods
    }


def documented_bodies(app: Litestar) -> dict[tuple[str, str], type[Any]]:
    """The ``(method, path)`` of every handler that takes a required body, and its struct:
    the type of its ``payload`` parameter, or the one a handler reading its own names in its
    opt. (An optional body, as DELETE /auth/mobile/pin takes, is told in its description.)"""
    bodies: dict[tuple[str, str], type[Any]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            struct = handler.opt.get(RAW_BODY)
            if PAYLOAD in handler.parsed_fn_signature.parameters:
                found, optional = payload_type(handler)
                struct = None if optional else found
            if struct is not None:
                for method in handler.http_methods:
                    bodies[(method.lower(), route.path_format)] = struct
    return bodies


def form_bodies(app: Litestar) -> dict[tuple[str, str], dict[str, Any]]:
    """The ``(method, path)`` of every handler that reads a multipart form itself, and the
    form's schema (its ``FORM_BODY`` opt)."""
    return {
        (method.lower(), route.path_format): handler.opt[FORM_BODY]
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if FORM_BODY in handler.opt
        for method in handler.http_methods
    }


def candle_parameters(assets: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The query of ``GET /candles`` as ``market.candles.candle_query`` checks it."""
    # Litestar reads ``to=null`` as no bound, as for any optional parameter.
    seconds = {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_TIME_S}
    return {
        "asset": {"type": "string", "enum": sorted(assets)},
        "interval": {"type": "string", "enum": list(INTERVALS), "default": "1m"},
        "from": seconds,
        "to": seconds,
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 500},
    }


def _constrain(operation: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["name"] in schemas:
            parameter["schema"] = schemas[parameter["name"]]


def _tag(path: str, operation: dict[str, Any]) -> None:
    for tag, _text, prefixes in GROUPS:
        if path.startswith(prefixes):
            operation["tags"] = [tag]
            return


def _request_body(ref: dict[str, Any] | None, form: dict[str, Any] | None) -> dict[str, Any] | None:
    """An operation's documented body: a JSON struct's, or a multipart form's."""
    if ref is not None:
        return {"required": True, "content": {"application/json": {"schema": ref}}}
    if form is not None:
        return {"required": True, "content": {"multipart/form-data": form}}
    return None


def _document(
    base: dict[str, Any],
    signed_in: dict[tuple[str, str], str | None],
    bodies: dict[tuple[str, str], type[Any]],
    assets: Iterable[str],
    guarded: dict[tuple[str, str], list[dict[str, list[str]]]],
    forms: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    document = copy.deepcopy(base)
    _constrain(document["paths"]["/api/v1/candles"]["get"], candle_parameters(assets))
    cursor = {"cursor": {"type": "string", "pattern": CURSOR_PATTERN, "description": "next_cursor"}}
    for history in ("/api/v1/trade/closed", "/api/v1/trade/close"):
        _constrain(document["paths"][history]["get"], cursor)
    audit_cursor = {**cursor["cursor"], "pattern": AUDIT_CURSOR_PATTERN}
    _constrain(document["paths"]["/api/v1/admin/audit"]["get"], {"cursor": audit_cursor})
    document["tags"] = [{"name": tag, "description": text} for tag, text, _paths in GROUPS]
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    structs = [*bodies.values(), ErrorBody]
    refs, defs = msgspec.json.schema_components(
        structs, schema_hook=schema_hook, ref_template="#/components/schemas/{name}"
    )
    schemas.update(defs)
    for name, rule in BODY_RULES.items():
        schemas[name].update(rule)
    error_ref = refs[-1]
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An access token"},
        "metrics": {
            "type": "http",
            "scheme": "bearer",
            "description": "CRYPTOCFD_METRICS_TOKEN; without one set, loopback clients in dev",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "cfd_session",
            "description": "Browser session; writes also need the X-CSRF-Token header",
        },
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CFD-API-KEY",
            "description": (
                "A request signed with an API key: X-CFD-TIMESTAMP (unix ms), "
                "X-CFD-RECV-WINDOW (ms, default 5000, at most 60000) and X-CFD-SIGNATURE over "
                "timestamp + api_key + recv_window + payload (the raw query string of a GET or "
                "DELETE, the raw body of a POST): the lowercase hex HMAC-SHA256 under the "
                "secret for an HMAC key, the base64 Ed25519 signature for an Ed25519 key. "
                "Routes say the scope they need: read, or trade."
            ),
        },
    }
    body_refs = dict(zip(bodies, refs[:-1], strict=True))
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            body = _request_body(body_refs.get((method, path)), (forms or {}).get((method, path)))
            if body is not None:
                operation["requestBody"] = body
            responses = operation.setdefault("responses", {})
            for status, text in ERROR_STATUSES.items():
                if (method, path, status) in OWN_RESPONSES:
                    if status == "400":  # a malformed query is still the gateway's own 400
                        own = responses[status]["content"]["application/json"]
                        own["schema"] = {"anyOf": [own["schema"], error_ref]}
                    continue
                # Replaces Litestar's own 400 shape: every error here is an ErrorBody.
                responses[status] = {
                    "description": text,
                    "content": {"application/json": {"schema": error_ref}},
                }
            _tag(path, operation)
            if (method, path) in signed_in:
                # In the order the gateway looks for them (deps.credential_of): a request that
                # names an API key is judged by its signature alone.
                operation["security"] = [{"bearer": []}, {"session": []}]
                if signed_in[(method, path)] is not None:
                    operation["security"].insert(0, {"apiKey": []})
            elif (method, path) in guarded:
                operation["security"] = guarded[(method, path)]
    return document


ACCOUNT_PARAMETER = {
    "name": ACCOUNT_FIELD,
    "in": "query",
    "required": False,
    "description": (
        "The account to act on (or the body's `account` field; both must agree): default, "
        "your active one (GET /account)"
    ),
    "schema": {"type": "string", "enum": [kind.value for kind in AccountKind]},
}


def account_operations(app: Litestar) -> set[tuple[str, str]]:
    """The ``(method, path)`` of every read that acts on the account a request names. A write
    takes the query too, but is documented with its body's ``account`` field alone: the
    signature of a POST signed with an API key covers only its body (``gateway.acting``)."""
    return {
        (method.lower(), route.path_format)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.opt.get(ON_ACCOUNT)
        for method in handler.http_methods
        if method == "GET"
    }


def _name_the_account(document: dict[str, Any], operations: set[tuple[str, str]]) -> None:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if (method, path) in operations:
                operation.setdefault("parameters", []).append(ACCOUNT_PARAMETER)


_cache: dict[int, bytes] = {}


@get("/openapi.json", include_in_schema=False, media_type="application/json")
async def openapi_json(request: Request[Any, Any, Any], resources: ResourcesDep) -> Response[bytes]:
    """The OpenAPI 3.1 document of every route, schema, error code and auth scheme."""
    # The raw request: the document is built from its app's routes.
    app = request.app
    key = id(app)
    if key not in _cache:
        base = app.openapi_schema.to_schema()
        guarded = OWN_SECURITY if resources.settings.metrics_token else {}
        operations = signed_in_operations(app)
        document = _document(
            base, operations, documented_bodies(app), resources.assets, guarded, form_bodies(app)
        )
        _name_the_account(document, account_operations(app))
        _cache[key] = msgspec.json.encode(document)
    return Response(_cache[key], media_type="application/json")


ROUTES = [openapi_json]
