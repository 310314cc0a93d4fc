"""``/auth/verify``: a sign-in link opens a confirmation page, and only its POST signs in.

Mail scanners and link previewers fetch links before the person does, so a GET (or HEAD)
never spends the token: it shows "Sign in as a…@example.com" and a button. The button's form
POSTs the token with a value bound to the browser that was shown the page (a cookie set by the
GET and its HMAC in a hidden field), and a cross-site Origin or ``Sec-Fetch-Site`` is refused:
a third-party page cannot sign its visitor into an account of the attacker's (login CSRF).

API clients POST ``{token}`` as JSON and get tokens. The old JSON GET still works for one
release, with a ``Deprecation`` header.
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
from cryptocfd.gateway.body import body_of, decode_body
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.resources import Resources, resources_of
from cryptocfd.gateway.schemas import TokensOut, VerifyRequest
from cryptocfd.gateway.signin import ensure_account, issue_tokens, start_session
from cryptocfd.gateway.web import content_security_policy
from cryptocfd.identity.emails import mask_email
from cryptocfd.identity.tokens import (
    CONFIRM_TTL_MS,
    SESSION_TTL_MS,
    csrf_matches,
    csrf_token,
    token_hash,
)
from cryptocfd.store.credentials import revoke_session
from cryptocfd.store.logins import live_login_email, use_login_token, utcnow
from cryptocfd.store.users import User, get_or_create_user

VERIFY = "/api/v1/auth/verify"
CONFIRM_COOKIE = "cfd_confirm"
_CONFIRM = "confirm"  # the HMAC purpose of the form's hidden field
FORM = "application/x-www-form-urlencoded"
# RFC 9745 / RFC 8594: the JSON GET is deprecated since this release and goes in the next.
DEPRECATED_GET = {
    "Deprecation": "@1796169600",  # 2026-12-02T00:00:00Z
    "Sunset": "Mon, 01 Mar 2027 00:00:00 GMT",
    "Link": f'<{VERIFY}>; rel="successor-version"',
}
_CROSS_SITE = frozenset({"cross-site", "same-site"})

body_of("post", VERIFY, VerifyRequest)


def _invalid_link() -> ApiError:
    return ApiError(400, "INVALID_LOGIN_LINK", "this sign-in link is unknown, used or expired")


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


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


async def _spend(resources: Resources, token: str) -> User:
    """Spend the link's token; the first sign-in opens the demo account."""
    # The token is spent, the user made and the account opened in one transaction: if the
    # engine does not answer, nothing is kept and the same link works again.
    async with resources.pool.acquire() as conn, conn.transaction():
        email = await use_login_token(conn, token_hash(token), utcnow())
        if email is None:
            raise _invalid_link()
        user, _created = await get_or_create_user(conn, email)
        await ensure_account(resources, user.id)
    return user


async def _tokens(resources: Resources, token: str) -> Response[Any]:
    user = await _spend(resources, token)
    return Response(await issue_tokens(resources, resources.pool, user, by_link=True))


@get(
    "/auth/verify",
    summary="Open a sign-in link",
    description=(
        "Shows a confirmation page with a button that POSTs the token; opening the link (GET "
        "or HEAD, as mail scanners do) never spends it. **Deprecated:** with "
        "`Accept: application/json` this still spends the token and answers tokens, with a "
        "`Deprecation` header, until the `Sunset` date; POST the token instead."
    ),
    responses={
        200: ResponseSpec(str, description="The confirmation page", media_type=MediaType.HTML),
    },
)
async def verify_page(request: Request[Any, Any, Any], token: FromQuery[str]) -> Response[Any]:
    """The confirmation page of a live link (the deprecated JSON GET spends it)."""
    resources = resources_of(request.app)
    if _wants_json(request):
        response = await _tokens(resources, token)
        response.headers.update(DEPRECATED_GET)
        return response
    email = await live_login_email(resources.pool, token_hash(token), utcnow())
    if email is None:
        raise _invalid_link()
    return _confirm_page(resources, token, email)


@head("/auth/verify", include_in_schema=False, status_code=200)
async def verify_head() -> None:
    """Link checkers ask with HEAD: the link is there, and nothing is spent or even looked up."""


@post(
    "/auth/verify",
    status_code=200,
    summary="Sign in with a link's token",
    description=(
        "Spends the single-use token of a sign-in link. As JSON (`{token}`), answers tokens. "
        "As the confirmation page's form (`application/x-www-form-urlencoded`, with the page's "
        "`confirm` field and cookie, from this origin), sets the session cookie and redirects "
        "to the dashboard."
    ),
    responses={
        200: ResponseSpec(TokensOut, description="Tokens"),
        303: ResponseSpec(None, description="Signed in: a session cookie and the dashboard"),
    },
)
async def verify(request: Request[Any, Any, Any]) -> Response[Any]:
    """Spend the token: tokens for an API client, a session for the confirmation form."""
    resources = resources_of(request.app)
    raw = await request.body()
    if not request.headers.get("content-type", "").startswith(FORM):
        return await _tokens(resources, decode_body(raw, VerifyRequest).token)
    user = await _spend(resources, _confirmed_token(resources, request, raw))
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # never carry a session over a sign-in: a planted id must not become valid
        await revoke_session(resources.pool, token_hash(old))
    sid = await start_session(resources, user)
    response = Redirect("/", status_code=303, cookies=session_cookies(resources, sid))
    response.delete_cookie(CONFIRM_COOKIE, path=VERIFY)
    return response


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
        raise ApiError(403, "CONFIRMATION_FAILED", "sign in from the page the sign-in link opens")
    token = fields.get("token", "")
    if not token:
        raise _invalid_link()
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
