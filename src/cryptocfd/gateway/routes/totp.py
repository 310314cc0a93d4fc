"""``/auth/totp``: the operator's second factor, set up once and verified to raise."""

from __future__ import annotations

from litestar import Response, post

from cryptocfd.gateway.deps import Caller, ClientAddr, Payload, ResourcesDep
from cryptocfd.gateway.operator_schemas import TotpSetupOut, TotpVerified, TotpVerifyRequest
from cryptocfd.gateway.usecases import totp


@post("/auth/totp/setup", status_code=200, summary="Set up the second factor (operators)")
async def setup(
    resources: ResourcesDep, principal: Caller, client_addr: ClientAddr
) -> Response[TotpSetupOut]:
    """For a user with a back-office role, within 5 minutes of a sign-in by link (else 403
    ``FRESH_SIGN_IN_REQUIRED``). The secret is in this answer only; a setup not yet verified
    is replaced by the next, a verified one is final (409 ``TOTP_ALREADY_SET_UP``)."""
    made = await totp.setup(resources, principal, client_addr)
    return Response(made, headers={"Cache-Control": "no-store"})


@post("/auth/totp/verify", status_code=200, summary="Raise this session or token with a code")
async def verify(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[TotpVerifyRequest],
    client_addr: ClientAddr,
) -> Response[TotpVerified]:
    """A right code from the authenticator raises a browser session, or answers a new access
    token that carries the raise, for the back office. A wrong code is 401
    ``INVALID_TOTP_CODE``, one used already 401 ``TOTP_CODE_REUSED``; five wrong ones lock
    it (429 ``TOTP_LOCKED``), as wrong PINs do."""
    raised = await totp.verify(resources, principal, payload, client_addr)
    return Response(raised, headers={"Cache-Control": "no-store"})


ROUTES = [setup, verify]
