"""``/docs`` (Swagger UI, served from the installed package: no internet needed) and
``/openapi.json``, which adds what Litestar cannot see to its generated document: the bodies
handlers decode themselves (``body.DOCUMENTED_BODIES``), the error shape, and the auth schemes.
"""

from __future__ import annotations

import copy
import mimetypes
from pathlib import Path
from typing import Any

import msgspec
import swagger_ui_bundle  # type: ignore[import-untyped]
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from cryptocfd.gateway.body import DOCUMENTED_BODIES
from cryptocfd.gateway.errors import ErrorBody

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
SERVED = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    }
)
PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/auth/verify"),
    ("post", "/api/v1/auth/verify"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/mobile/pin/login"),
    ("get", "/healthz"),
    ("get", "/readyz"),
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

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CryptoCFD API explorer</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/explorer.js"></script>
</body>
</html>
"""

# Cookie-authenticated writes need the CSRF token: send the cookie's value as a header.
SCRIPT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  withCredentials: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  requestInterceptor: (request) => {
    const match = document.cookie.match(/(?:^|; )cfd_csrf=([^;]+)/);
    if (match) { request.headers["X-CSRF-Token"] = decodeURIComponent(match[1]); }
    return request;
  },
});
"""


@get("/docs", include_in_schema=False, media_type="text/html")
async def explorer() -> str:
    """The API explorer page."""
    return PAGE


@get("/docs/explorer.js", include_in_schema=False, media_type="application/javascript")
async def explorer_script() -> str:
    """The explorer's configuration (a file, so a strict CSP needs no inline script)."""
    return SCRIPT


@get("/docs/assets/{name:str}", include_in_schema=False)
async def explorer_asset(name: FromPath[str]) -> Response[bytes]:
    """Swagger UI's own files, from the installed ``swagger-ui-bundle`` package."""
    if name not in SERVED:
        raise NotFoundException()
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        (ASSETS / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


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


ROUTES = [explorer, explorer_script, explorer_asset, openapi_json]
