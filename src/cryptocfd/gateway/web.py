"""The pages built from ``web/`` (by ``make setup``): the dashboard at ``/``, the API explorer
at ``/docs``.

Each page is served with a Content-Security-Policy that allows only the page's own origin (and
its websocket); the hashed bundles under ``/assets/`` are cached for good. With no build, a page
says how to make one.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

import cryptocfd

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")
MISSING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>CryptoCFD</title>
</head><body><h1>CryptoCFD</h1>
<p>The {page} is not built: run <code>make setup</code> (it builds <code>web/</code>).
The whole API is described in <a href="/openapi.json">/openapi.json</a>.</p></body></html>"""


def dist_dir() -> Path:
    """The repository's ``web/dist`` (the package is installed editable from ``src/``)."""
    beside_package = Path(cryptocfd.__file__).resolve().parents[2] / "web" / "dist"
    for candidate in (beside_package, Path("web/dist")):
        if (candidate / "index.html").is_file():
            return candidate
    return beside_package


def content_security_policy(host: str | None, images: str = "'self'") -> str:
    """Only this origin: scripts, styles, images, fetches and the websocket to the same host."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; "
        f"font-src 'self'; connect-src 'self'{sockets}; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def _file(path: Path, cache: str) -> Response[bytes]:
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(
        path.read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def _served(folder: Path, name: str) -> Path:
    path = folder / name
    if not _FILE_NAME.match(name) or not path.is_file():
        raise NotFoundException()
    return path


def _page(
    request: Request[Any, Any, Any], name: str, what: str, images: str = "'self'"
) -> Response[bytes]:
    page = dist_dir() / name
    headers = {
        "Content-Security-Policy": content_security_policy(request.headers.get("host"), images),
        "Cache-Control": "no-cache",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }
    body = page.read_bytes() if page.is_file() else MISSING.format(page=what).encode()
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


@get("/", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The dashboard's page, or how to build it."""
    return _page(request, "index.html", "trading dashboard")


@get("/docs", include_in_schema=False)
async def explorer(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The API explorer's page (``web/docs.html``: Swagger UI 5), or how to build it."""
    # Swagger UI's stylesheet draws its icons as data: SVGs; still nothing from another origin.
    return _page(request, "docs.html", "API explorer", images="'self' data:")


@get("/assets/{name:str}", include_in_schema=False)
async def bundle(name: FromPath[str]) -> Response[bytes]:
    """A built, content-hashed file: cached for a year."""
    return _file(_served(dist_dir() / "assets", name), "public, max-age=31536000, immutable")


@get("/favicon.svg", include_in_schema=False)
async def favicon() -> Response[bytes]:
    """The tab's icon."""
    return _file(_served(dist_dir(), "favicon.svg"), "public, max-age=86400")


ROUTES = [dashboard, explorer, bundle, favicon]
