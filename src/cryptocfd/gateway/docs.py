"""``/openapi.json``, which adds what Litestar cannot see to its generated document: the bodies
handlers decode themselves (``body.DOCUMENTED_BODIES``), the error shape, and the auth schemes.

The explorer that reads it, at ``/docs``, is a page of the ``web/`` build (``gateway/web.py``).
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Request, Response, get

from cryptocfd.gateway.body import DOCUMENTED_BODIES
from cryptocfd.gateway.errors import ErrorBody

PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/auth/verify"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/mobile/pin/login"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}
# Responses a handler documents itself, which the error shape must not replace.
OWN_RESPONSES = {("get", "/readyz", "503")}
ERROR_STATUSES = {
    "400": "The request is malformed or refused by a rule; `error.code` says which",
    "401": "Not signed in, or the token expired or was revoked",
    "403": "A cookie-authenticated write without the session's X-CSRF-Token",
    "413": "The body is larger than 16 KiB",
    "404": "No such order or route (another user's order is also 404)",
    "422": "Well-formed but refused now: insufficient balance, stale price, slippage…",
    "429": "Rate limited; `Retry-After` says when to come back",
    "503": (
        "The engine, Redis or PostgreSQL did not answer (`ENGINE_UNAVAILABLE`, "
        "`SERVICE_UNAVAILABLE`); retry with the same Idempotency-Key"
    ),
}


def _document(base: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(base)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    structs = [*DOCUMENTED_BODIES.values(), ErrorBody]
    refs, defs = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    schemas.update(defs)
    error_ref = refs[-1]
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An access token"},
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "cfd_session",
            "description": "Browser session; writes also need the X-CSRF-Token header",
        },
    }
    body_refs = dict(zip(DOCUMENTED_BODIES, refs[:-1], strict=True))
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            ref = body_refs.get((method, path))
            if ref is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref}},
                }
            responses = operation.setdefault("responses", {})
            for status, text in ERROR_STATUSES.items():
                if (method, path, status) in OWN_RESPONSES:
                    continue
                # Replaces Litestar's own 400 shape: every error here is an ErrorBody.
                responses[status] = {
                    "description": text,
                    "content": {"application/json": {"schema": error_ref}},
                }
            if (method, path) not in PUBLIC:
                operation["security"] = [{"bearer": []}, {"session": []}]
    return document


_cache: dict[int, bytes] = {}


@get("/openapi.json", include_in_schema=False, media_type="application/json")
async def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OpenAPI 3.1 document of every route, schema, error code and auth scheme."""
    key = id(request.app)
    if key not in _cache:
        _cache[key] = msgspec.json.encode(_document(request.app.openapi_schema.to_schema()))
    return Response(_cache[key], media_type="application/json")


ROUTES = [openapi_json]
