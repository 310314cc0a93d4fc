"""``/auth``: magic-link sign-in, tokens, sessions, and the mobile PIN."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.di import Provide
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
from cryptocfd.gateway.orders import now_ms
from cryptocfd.gateway.pinlock import CHANGE, PinAttempt
from cryptocfd.gateway.ratelimit import hit
from cryptocfd.gateway.resources import Resources, resources_of
from cryptocfd.gateway.routes import verify
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
    hash_pin,
    invalid_credentials,
    issue_tokens,
    notify,
    pin_locked_email,
    pin_matches,
    pin_set_email,
    send_login_link,
)
from cryptocfd.identity.emails import InvalidEmail, normalize_email
from cryptocfd.identity.pins import PinRefused, check_pin
from cryptocfd.identity.tokens import is_fresh, token_hash
from cryptocfd.store.credentials import (
    device_families,
    revoke_family,
    revoke_session,
    signed_in_device,
    spend_refresh_token,
)
from cryptocfd.store.logins import utcnow
from cryptocfd.store.pins import pin_hash_of, remove_pin, set_pin
from cryptocfd.store.users import User, user_by_email, user_by_id

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
    ip = client_ip(request)
    ip_key = f"{resources.prefix}rl:login-ip:{ip}"
    await hit(resources.redis, ip_key, resources.settings.logins_per_ip_per_min)
    per_hour = resources.settings.login_links_per_ip_per_hour
    await hit(resources.redis, f"{ip_key}:h", per_hour, window_s=3600)
    await send_login_link(resources, email, ip)
    return LOGIN_ACCEPTED


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
    """Six digits, not one of the most guessed; stored as an argon2id hash.

    Needs a fresh sign-in by link (the last 5 minutes) or the current PIN, so a leaked access
    token cannot become a PIN; the owner is emailed either way.
    """
    resources = resources_of(request.app)
    body = decode_body(await request.body(), PinRequest)
    try:
        pin = check_pin(body.pin)
    except PinRefused as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    user = await user_by_id(resources.pool, principal.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "no such user")
    if not is_fresh(principal.signed_in_at_ms, now_ms()):
        await _check_current_pin(resources, user, body.current_pin)
    async with resources.pool.acquire() as conn, conn.transaction():
        replaced = await set_pin(conn, user.id, await hash_pin(pin))
        await notify(resources, conn, user.email, *pin_set_email(replaced=replaced))
    # A new PIN ends the devices the old one signed in: it may have been changed because it
    # leaked.
    await _revoke_devices(resources, principal.user_id)


async def _check_current_pin(resources: Resources, user: User, current_pin: str | None) -> None:
    """Pass when ``current_pin`` is the user's PIN (tries count like sign-in tries); else 403."""
    refused = ApiError(
        403, "FRESH_SIGN_IN_REQUIRED",
        "to set or change the PIN, sign in by email link again (it counts for 5 minutes)"
        " or give the current PIN as current_pin",
    )  # fmt: skip
    if current_pin is None:
        raise refused
    attempt = PinAttempt(resources, user.email, CHANGE)
    await attempt.begin()
    if await pin_matches(await pin_hash_of(resources.pool, user.id), current_pin):
        await attempt.succeeded()
        return
    await attempt.failed()
    raise refused


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
    """Tokens bound to ``device_id``. Five wrong PINs lock that address on that device, for 15
    minutes and twice as long each time after; the same for every address."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), PinLoginRequest)
    ip_key = f"{resources.prefix}rl:pin-ip:{client_ip(request)}"
    await hit(resources.redis, ip_key, resources.settings.logins_per_ip_per_min)
    email = _email(body.email)
    user = await user_by_email(resources.pool, email)
    known = user is not None and await signed_in_device(resources.pool, user.id, body.device_id)
    attempt = PinAttempt(resources, email, body.device_id, known_device=known)
    await attempt.begin()
    pin_hash = None if user is None else await pin_hash_of(resources.pool, user.id)
    # Checked even with no PIN to check (against a dummy hash): a miss takes the same time.
    if await pin_matches(pin_hash, body.pin) and user is not None:
        await attempt.succeeded()
        return await issue_tokens(resources, resources.pool, user, device_id=body.device_id)
    if await attempt.failed() and user is not None:
        async with resources.pool.acquire() as conn:
            await notify(resources, conn, email, *pin_locked_email(body.device_id))
    raise invalid_credentials()


PUBLIC_ROUTES = [login, *verify.ROUTES, refresh, pin_login]
PRIVATE_ROUTES = [logout, me, set_mobile_pin, delete_mobile_pin]
