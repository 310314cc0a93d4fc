"""``/auth``: magic-link sign-in, tokens, sessions, and the mobile PIN."""

from __future__ import annotations

from litestar import Response, delete, get, post
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from cryptocfd.gateway.auth import CSRF_COOKIE, SESSION_COOKIE
from cryptocfd.gateway.deps import Caller, ClientIp, Payload, ResourcesDep
from cryptocfd.gateway.present import token_response
from cryptocfd.gateway.schemas import (
    LoginAccepted,
    LoginRequest,
    PinLoginRequest,
    PinRemoval,
    PinRequest,
    RefreshRequest,
    TokensOut,
    UserOut,
)
from cryptocfd.gateway.usecases import signin


@post("/auth/login", status_code=HTTP_202_ACCEPTED, summary="Email a sign-in link")
async def login(
    resources: ResourcesDep, payload: Payload[LoginRequest], client_ip: ClientIp
) -> LoginAccepted:
    """Always 202, with the same body, whether or not the address has an account."""
    return await signin.login(resources, payload, client_ip)


@post("/auth/refresh", status_code=200, summary="Rotate a refresh token")
async def refresh(resources: ResourcesDep, payload: Payload[RefreshRequest]) -> Response[TokensOut]:
    """Spend a refresh token for new tokens. A spent token presented again revokes its family."""
    return token_response(await signin.refresh(resources, payload.refresh_token))


@post("/auth/logout", status_code=HTTP_204_NO_CONTENT, summary="Sign out")
async def logout(resources: ResourcesDep, principal: Caller) -> Response[None]:
    """End this session, or revoke this token family (its access and refresh tokens)."""
    await signin.logout(resources, principal)
    response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@get("/auth/me", summary="Who am I")
async def me(resources: ResourcesDep, principal: Caller) -> UserOut:
    """The signed-in user."""
    return await signin.me(resources, principal)


@post("/auth/mobile/pin", status_code=HTTP_204_NO_CONTENT, summary="Set or change the mobile PIN")
async def set_mobile_pin(
    resources: ResourcesDep, principal: Caller, payload: Payload[PinRequest]
) -> None:
    """Six digits, not one of the most guessed; stored as an argon2id hash.

    Needs a fresh sign-in by link (the last 5 minutes) or the current PIN, so a leaked access
    token cannot become a PIN; the owner is emailed either way.
    """
    await signin.set_mobile_pin(resources, principal, payload)


@delete("/auth/mobile/pin", status_code=HTTP_204_NO_CONTENT, summary="Remove the mobile PIN",
        description="Needs a fresh sign-in by link (the last 5 minutes) or the current PIN as "
        '`{"current_pin"}` in a JSON body; else a 403 `FRESH_SIGN_IN_REQUIRED`.')  # fmt: skip
async def delete_mobile_pin(
    resources: ResourcesDep, principal: Caller, payload: Payload[PinRemoval | None]
) -> None:
    """Remove the PIN and revoke every token a PIN sign-in issued.

    Needs what setting it needs: a fresh sign-in by link, or the current PIN as
    ``{"current_pin"}`` in a JSON body; the owner is emailed.
    """
    current_pin = None if payload is None else payload.current_pin
    await signin.remove_mobile_pin(resources, principal, current_pin)


@post("/auth/mobile/pin/login", status_code=200, summary="Sign in on a device with a PIN")
async def pin_login(
    resources: ResourcesDep, payload: Payload[PinLoginRequest], client_ip: ClientIp
) -> Response[TokensOut]:
    """Tokens bound to ``device_id``. Five wrong PINs lock that address on that device, for 15
    minutes and twice as long each time after; the same for every address."""
    return token_response(await signin.pin_login(resources, payload, client_ip))


LINK_ROUTES = [login]  # then routes/verify.py spends the link
TOKEN_ROUTES = [refresh, pin_login]
PRIVATE_ROUTES = [logout, me, set_mobile_pin, delete_mobile_pin]
