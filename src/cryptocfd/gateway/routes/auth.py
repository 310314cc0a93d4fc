"""``/auth``: magic-link sign-in, tokens, sessions, and the mobile PIN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery
from litestar.response import Redirect
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from cryptocfd.gateway.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    client_ip,
    mark_family_revoked,
    provide_principal,
)
from cryptocfd.gateway.body import body_of, decode_body
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.ratelimit import hit
from cryptocfd.gateway.resources import Resources, resources_of
from cryptocfd.gateway.schemas import (
    LoginAccepted,
    LoginRequest,
    PinLoginRequest,
    PinRequest,
    RefreshRequest,
    TokensOut,
    UserOut,
)
from cryptocfd.gateway.signin import (
    ensure_account,
    hash_pin,
    invalid_credentials,
    issue_tokens,
    pin_matches,
    send_login_link,
    start_session,
)
from cryptocfd.identity.emails import InvalidEmail, normalize_email
from cryptocfd.identity.pins import PinRefused, after_failure, check_pin
from cryptocfd.identity.tokens import SESSION_TTL_MS, csrf_token, token_hash
from cryptocfd.store.credentials import (
    device_families,
    revoke_family,
    revoke_session,
    spend_refresh_token,
)
from cryptocfd.store.logins import use_login_token, utcnow
from cryptocfd.store.pins import pin_for_update, record_attempt, remove_pin, set_pin
from cryptocfd.store.users import get_or_create_user, user_by_email, user_by_id

AUTH = "/api/v1/auth"

# Bodies these handlers decode themselves, declared for the OpenAPI document.
body_of("post", f"{AUTH}/login", LoginRequest)
body_of("post", f"{AUTH}/refresh", RefreshRequest)
body_of("post", f"{AUTH}/mobile/pin", PinRequest)
body_of("post", f"{AUTH}/mobile/pin/login", PinLoginRequest)
LOGIN_ACCEPTED = LoginAccepted(
    "If that address can receive email, a sign-in link is on its way. It works once, "
    "for 15 minutes."
)
_principal = {"principal": Provide(provide_principal)}


def _utc(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _email(text: str) -> str:
    try:
        return normalize_email(text)
    except InvalidEmail as exc:
        raise ApiError(400, "INVALID_EMAIL", str(exc)) from exc


@post("/auth/login", status_code=HTTP_202_ACCEPTED, summary="Email a sign-in link")
async def login(request: Request[Any, Any, Any]) -> LoginAccepted:
    """Always 202, with the same body, whether or not the address has an account."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), LoginRequest)
    email = _email(body.email)
    ip_key = f"{resources.prefix}rl:login-ip:{client_ip(request)}"
    await hit(resources.redis, ip_key, resources.settings.logins_per_ip_per_min)
    await send_login_link(resources, email)
    return LOGIN_ACCEPTED


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _session_cookies(resources: Resources, sid: str) -> list[Cookie]:
    secure = resources.secure_cookies
    max_age = int(timedelta(milliseconds=SESSION_TTL_MS).total_seconds())
    common: dict[str, Any] = {"path": "/", "secure": secure, "samesite": "lax", "max_age": max_age}
    return [
        Cookie(key=SESSION_COOKIE, value=sid, httponly=True, **common),
        # Readable by the page's script, which echoes it in X-CSRF-Token on every write.
        Cookie(key=CSRF_COOKIE, value=csrf_token(resources.secret, sid), httponly=False, **common),
    ]


@get(
    "/auth/verify",
    summary="Follow a sign-in link",
    description=(
        "A browser gets a session cookie and a redirect to the dashboard; a client sending "
        "`Accept: application/json` gets tokens. The link works once, for 15 minutes."
    ),
    responses={
        200: ResponseSpec(TokensOut, description="Tokens, for `Accept: application/json`"),
        303: ResponseSpec(None, description="Signed in: a session cookie and the dashboard"),
    },
)
async def verify(request: Request[Any, Any, Any], token: FromQuery[str]) -> Response[Any]:
    """Spend the link's token; the first sign-in opens the demo account."""
    resources = resources_of(request.app)
    # The token is spent, the user made and the account opened in one transaction: if the
    # engine does not answer, nothing is kept and the same link works again.
    async with resources.pool.acquire() as conn, conn.transaction():
        email = await use_login_token(conn, token_hash(token), utcnow())
        if email is None:
            raise ApiError(
                400, "INVALID_LOGIN_LINK", "this sign-in link is unknown, used or expired"
            )
        user, _created = await get_or_create_user(conn, email)
        await ensure_account(resources, user.id)
    if _wants_json(request):
        tokens = await issue_tokens(resources, resources.pool, user)
        return Response(tokens)
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # never carry a session over a sign-in: a planted id must not become valid
        await revoke_session(resources.pool, token_hash(old))
    sid = await start_session(resources, user)
    return Redirect("/", status_code=303, cookies=_session_cookies(resources, sid))


@post("/auth/refresh", status_code=200, summary="Rotate a refresh token")
async def refresh(request: Request[Any, Any, Any]) -> TokensOut:
    """Spend a refresh token for new tokens. A spent token presented again revokes its family."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), RefreshRequest)
    async with resources.pool.acquire() as conn, conn.transaction():
        grant, reused_family = await spend_refresh_token(
            conn, token_hash(body.refresh_token), utcnow()
        )
        if grant is not None:
            user = await user_by_id(conn, grant.user_id)
            assert user is not None  # refresh tokens reference users, never deleted
            return await issue_tokens(resources, conn, user, grant.family, grant.device_id)
    if reused_family is not None:
        await revoke_family(resources.pool, reused_family)
        await mark_family_revoked(resources, reused_family)
    raise ApiError(401, "INVALID_REFRESH_TOKEN", "refresh token unknown, spent, revoked or expired")


@post("/auth/logout", status_code=HTTP_204_NO_CONTENT, dependencies=_principal, summary="Sign out")
async def logout(request: Request[Any, Any, Any], principal: Caller) -> Response[None]:
    """End this session, or revoke this token family (its access and refresh tokens)."""
    resources = resources_of(request.app)
    if principal.session_hash is not None:
        await revoke_session(resources.pool, principal.session_hash)
    if principal.family is not None:
        await revoke_family(resources.pool, principal.family)
        await mark_family_revoked(resources, principal.family)
    response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@get("/auth/me", dependencies=_principal, summary="Who am I")
async def me(request: Request[Any, Any, Any], principal: Caller) -> UserOut:
    """The signed-in user."""
    user = await user_by_id(resources_of(request.app).pool, principal.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "no such user")
    return UserOut(user.id, user.email)


@post("/auth/mobile/pin", status_code=HTTP_204_NO_CONTENT, dependencies=_principal,
      summary="Set or change the mobile PIN")  # fmt: skip
async def set_mobile_pin(request: Request[Any, Any, Any], principal: Caller) -> None:
    """Six digits, not one of the most guessed; stored as an argon2id hash."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), PinRequest)
    try:
        pin = check_pin(body.pin)
    except PinRefused as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    await set_pin(resources.pool, principal.user_id, await hash_pin(pin))
    # A new PIN ends the devices the old one signed in: it may have been changed because it
    # leaked.
    await _revoke_devices(resources, principal.user_id)


@delete("/auth/mobile/pin", status_code=HTTP_204_NO_CONTENT, dependencies=_principal,
        summary="Remove the mobile PIN")  # fmt: skip
async def delete_mobile_pin(request: Request[Any, Any, Any], principal: Caller) -> None:
    """Remove the PIN and revoke every token a PIN sign-in issued."""
    resources = resources_of(request.app)
    await remove_pin(resources.pool, principal.user_id)
    await _revoke_devices(resources, principal.user_id)


async def _revoke_devices(resources: Resources, user_id: int) -> None:
    for family in await device_families(resources.pool, user_id):
        await revoke_family(resources.pool, family)
        await mark_family_revoked(resources, family)


@post("/auth/mobile/pin/login", status_code=200, summary="Sign in on a device with a PIN")
async def pin_login(request: Request[Any, Any, Any]) -> TokensOut:
    """Tokens bound to ``device_id``. Five wrong PINs lock it for 15 minutes."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), PinLoginRequest)
    ip_key = f"{resources.prefix}rl:pin-ip:{client_ip(request)}"
    await hit(resources.redis, ip_key, resources.settings.logins_per_ip_per_min)
    email = _email(body.email)
    user = await user_by_email(resources.pool, email)
    if user is None:
        await pin_matches(None, body.pin)
        raise invalid_credentials()
    now = utcnow()
    async with resources.pool.acquire() as conn, conn.transaction():
        row = await pin_for_update(conn, user.id)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            retry = int((row.locked_until - now).total_seconds()) + 1
            raise ApiError(
                429, "PIN_LOCKED", f"too many wrong PINs; try again in {retry} s",
                {"Retry-After": str(retry)},
            )  # fmt: skip
        if not await pin_matches(None if row is None else row.pin_hash, body.pin):
            if row is not None:
                failed, lock_ms = after_failure(row.failed_attempts, int(now.timestamp() * 1000))
                locked_until = (
                    None if lock_ms is None else datetime.fromtimestamp(lock_ms / 1000, UTC)
                )
                await record_attempt(conn, user.id, failed, locked_until)
            error = invalid_credentials()
        else:
            await record_attempt(conn, user.id, 0, None)
            return await issue_tokens(resources, conn, user, device_id=body.device_id)
    raise error


PUBLIC_ROUTES = [login, verify, refresh, pin_login]
PRIVATE_ROUTES = [logout, me, set_mobile_pin, delete_mobile_pin]
