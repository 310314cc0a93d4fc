"""``/auth/verify``: a sign-in link opens a confirmation page, and only its POST signs in.

Mail scanners and link previewers fetch links before the person does, so a GET (or HEAD)
never spends the token: it shows "Sign in as a…@example.com" and a button. The button's form
POSTs the token with a value bound to the browser that was shown the page (a cookie set by the
GET and its HMAC in a hidden field), and a cross-site Origin or ``Sec-Fetch-Site`` is refused:
a third-party page cannot sign its visitor into an account of the attacker's (login CSRF).

API clients POST ``{token}`` as ``application/json`` and get tokens; any other body is a 415,
and a browser's cross-site POST (``Sec-Fetch-Site``) a 403, so no page can post a token as
``text/plain``. The old JSON GET still spends for one release, with a ``Deprecation`` header,
but only for an API client: no ``Sec-Fetch-*`` header (browsers always send them) and
``application/json`` alone at the top of ``Accept``; anyone else gets the page.
"""

from __future__ import annotations

import html
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import MediaType, Request, Response, get, head, post
from litestar.datastructures import Cookie
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery
from litestar.response import Redirect

from cryptocfd.gateway.auth import CSRF_COOKIE, SESSION_COOKIE
from cryptocfd.gateway.deps import RAW_BODY, ResourcesDep, decode_body
from cryptocfd.gateway.errors import ApiError, ErrorBody
from cryptocfd.gateway.present import token_response
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import TokensOut, VerifyRequest
from cryptocfd.gateway.usecases import signin
from cryptocfd.gateway.usecases.signin import invalid_link
from cryptocfd.gateway.web import content_security_policy
from cryptocfd.identity.emails import mask_email
from cryptocfd.identity.tokens import (
    CONFIRM_TTL_MS,
    SESSION_TTL_MS,
    csrf_matches,
    csrf_token,
)

VERIFY = "/api/v1/auth/verify"
CONFIRM_COOKIE = "cfd_confirm"
_CONFIRM = "confirm"  # the HMAC purpose of the form's hidden field
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# RFC 9745 / RFC 8594: the JSON GET is deprecated since this release and goes in the next.
DEPRECATED_GET = {
    "Deprecation": "@1796169600",  # 2026-12-02T00:00:00Z
    "Sunset": "Mon, 01 Mar 2027 00:00:00 GMT",
    "Link": f'<{VERIFY}>; rel="successor-version"',
}
_CROSS_SITE = frozenset({"cross-site", "same-site"})


def _media_type(value: str) -> str:
    """The type/subtype of a Content-Type or Accept entry, without parameters, lower case."""
    return value.split(";", 1)[0].strip().lower()


def _is_api_client_wanting_json(request: Request[Any, Any, Any]) -> bool:
    """Whether the deprecated JSON GET may spend: no browser (browsers send ``Sec-Fetch-*``,
    and ``Accept`` is theirs to set cross-site) and ``application/json`` alone on top."""
    if any(name.lower().startswith("sec-fetch-") for name in request.headers):
        return False
    ranked = [_ranked(entry) for entry in request.headers.get("accept", "").split(",")]
    top = max((q for q, _ in ranked), default=0.0)
    return top > 0 and [media for q, media in ranked if q == top] == [JSON]


def _ranked(entry: str) -> tuple[float, str]:
    """An Accept entry's quality and media type (an unreadable quality counts as 0)."""
    media, *params = entry.split(";")
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return quality, _media_type(media)


def _confirm_page(resources: Resources, token: str, email: str) -> Response[str]:
    """The page with the button, under the dashboard's CSP: no script, nothing but this origin."""
    nonce = secrets.token_urlsafe(32)
    bound = csrf_token(resources.secret, nonce, _CONFIRM)
    shown = html.escape(mask_email(email))
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Sign in · CryptoCFD</title></head><body><main>"
        f"<h1>Sign in as {shown}</h1>"
        f"<form method='post' action='{VERIFY}'>"
        f"<input type='hidden' name='token' value='{html.escape(token, quote=True)}'>"
        f"<input type='hidden' name='{_CONFIRM}' value='{bound}'>"
        "<button type='submit'>Sign in</button></form>"
        "<p>Not you, or did not ask? Close this page: nothing happens without the button.</p>"
        "</main></body></html>"
    )
    headers = {
        "Content-Security-Policy": content_security_policy(None),
        "Cache-Control": "no-store",
        # The URL holds the token: no other site may see it. (Not no-referrer: then browsers
        # send "Origin: null" with the form, and the origin check could not tell it apart.)
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }
    cookie = Cookie(
        key=CONFIRM_COOKIE, value=nonce, path=VERIFY, httponly=True, samesite="strict",
        secure=resources.secure_cookies, max_age=CONFIRM_TTL_MS // 1000,
    )  # fmt: skip
    return Response(page, media_type=MediaType.HTML, headers=headers, cookies=[cookie])


@get(
    "/auth/verify",
    summary="Open a sign-in link",
    description=(
        "Shows a confirmation page with a button that POSTs the token; opening the link (GET "
        "or HEAD, as mail scanners do) never spends it. **Deprecated:** with "
        "`Accept: application/json` (alone, and no `Sec-Fetch-*` header: not from a browser) "
        "this still spends the token and answers tokens, with a `Deprecation` header, until "
        "the `Sunset` date; POST the token instead."
    ),
    responses={
        200: ResponseSpec(str, description="The confirmation page", media_type=MediaType.HTML),
    },
)
async def verify_page(
    request: Request[Any, Any, Any], resources: ResourcesDep, token: FromQuery[str]
) -> Response[Any]:
    """The confirmation page of a live link (the deprecated JSON GET spends it)."""
    # The raw request: whether the JSON GET may still spend depends on its Accept and
    # Sec-Fetch-* headers.
    if _is_api_client_wanting_json(request):
        response = token_response(await signin.tokens_for_link(resources, token))
        response.headers.update(DEPRECATED_GET)
        return response
    return _confirm_page(resources, token, await signin.link_email(resources, token))


@head("/auth/verify", include_in_schema=False, status_code=200)
async def verify_head() -> None:
    """Link checkers ask with HEAD: the link is there, and nothing is spent or even looked up."""


@post(
    "/auth/verify",
    status_code=200,
    opt={RAW_BODY: VerifyRequest},  # read by the handler itself: JSON, or the form
    summary="Sign in with a link's token",
    description=(
        "Spends the single-use token of a sign-in link. As `application/json` (`{token}`), "
        "answers tokens; any other body type is a 415. "
        "As the confirmation page's form (`application/x-www-form-urlencoded`, with the page's "
        "`confirm` field and cookie, from this origin), sets the session cookie and redirects "
        "to the dashboard."
    ),
    responses={
        200: ResponseSpec(TokensOut, description="Tokens"),
        303: ResponseSpec(None, description="Signed in: a session cookie and the dashboard"),
        415: ResponseSpec(ErrorBody, description="Neither JSON nor the confirmation form"),
    },
)
async def verify(request: Request[Any, Any, Any], resources: ResourcesDep) -> Response[Any]:
    """Spend the token: tokens for an API client, a session for the confirmation form."""
    # The raw request: its body is JSON or the confirmation form by its Content-Type, and the
    # form counts only with this browser's cookie and a same-origin Origin / Sec-Fetch-Site.
    raw = await request.body()
    if _media_type(request.headers.get("content-type", "")) != FORM:
        tokens = await signin.tokens_for_link(resources, _json_token(request, raw))
        return token_response(tokens)
    token = _confirmed_token(resources, request, raw)
    sid = await signin.browser_session(resources, token, request.cookies.get(SESSION_COOKIE))
    response = Redirect("/", status_code=303, cookies=session_cookies(resources, sid))
    response.delete_cookie(CONFIRM_COOKIE, path=VERIFY)
    return response


def _json_token(request: Request[Any, Any, Any], raw: bytes) -> str:
    """The token of an API client's JSON body; a 415 for any other body, a 403 from a page."""
    if _media_type(request.headers.get("content-type", "")) != JSON:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the token as application/json")
    if request.headers.get("sec-fetch-site", "same-origin") in _CROSS_SITE:
        raise _confirmation_failed()
    return decode_body(raw, VerifyRequest).token


def _confirmation_failed() -> ApiError:
    return ApiError(403, "CONFIRMATION_FAILED", "sign in from the page the sign-in link opens")


def _confirmed_token(resources: Resources, request: Request[Any, Any, Any], raw: bytes) -> str:
    """The form's token, if the form came from the page this browser was shown; else a 403."""
    try:
        fields = dict(parse_qsl(raw.decode(), max_num_fields=4, strict_parsing=True))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "INVALID_REQUEST", "expected the confirmation form") from exc
    nonce = request.cookies.get(CONFIRM_COOKIE, "")
    if (
        _cross_site(request, resources)
        or not nonce
        or not csrf_matches(resources.secret, nonce, fields.get(_CONFIRM, ""), _CONFIRM)
    ):
        raise _confirmation_failed()
    token = fields.get("token", "")
    if not token:
        raise invalid_link()
    return token


def _cross_site(request: Request[Any, Any, Any], resources: Resources) -> bool:
    """Whether the browser says the form was posted from another site or origin."""
    if request.headers.get("sec-fetch-site", "same-origin") in _CROSS_SITE:
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False  # older browsers; the bound field still has to match
    # Ours is the host asked for, or the public URL's (a proxy may rewrite Host).
    ours = {request.headers.get("host", ""), urlsplit(resources.settings.public_url).netloc}
    return urlsplit(origin).netloc not in ours


def session_cookies(resources: Resources, sid: str) -> list[Cookie]:
    """The session cookie and the CSRF cookie the page's script echoes on every write."""
    secure = resources.secure_cookies
    max_age = int(timedelta(milliseconds=SESSION_TTL_MS).total_seconds())
    common: dict[str, Any] = {"path": "/", "secure": secure, "samesite": "lax", "max_age": max_age}
    return [
        Cookie(key=SESSION_COOKIE, value=sid, httponly=True, **common),
        # Readable by the page's script, which echoes it in X-CSRF-Token on every write.
        Cookie(key=CSRF_COOKIE, value=csrf_token(resources.secret, sid), httponly=False, **common),
    ]


ROUTES = [verify_page, verify_head, verify]
