"""The operator's second factor: set up once, then a code raises a session or token.

Only a role holder has one (a trader has no back office to guard). Setting it up needs a
fresh sign-in by link, as a PIN does, so a leaked access token cannot enrol an attacker's
authenticator; once a first code verified it, it is final (409 on a second setup). A right
code raises the browser session itself, or answers a new access token of the same family
that carries the raise. Wrong codes lock like wrong PINs (``gateway.pinlock``), a code is
good once (``store.totp.claim_step``), and each setup, raise and refusal is audited; the
operator is emailed when wrong codes lock it, as a PIN's owner is.
"""

from __future__ import annotations

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.auth import Principal, staff_of
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.operator_schemas import TotpSetupOut, TotpVerified, TotpVerifyRequest
from cryptocfd.gateway.pinlock import TOTP, TOTP_LOCKED, PinAttempt
from cryptocfd.gateway.present import iso_ms
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.usecases.signin import notify
from cryptocfd.identity.tokens import (
    ACCESS_TOKEN_TTL_MS,
    AccessClaims,
    is_fresh,
    sign_access_token,
)
from cryptocfd.identity.totp import RAISED_TTL_MS, matching_step, new_secret, otpauth_uri
from cryptocfd.store.audit import AuditEntry, append
from cryptocfd.store.credentials import raise_session
from cryptocfd.store.database import Connection
from cryptocfd.store.roles import Staff
from cryptocfd.store.totp import claim_step, sealer, store_pending_secret, totp_secret_of

SETUP = "totp.setup"
VERIFY = "totp.verify"
REFUSED = "totp.refused"
LOCKED_EMAIL = (
    "Wrong codes locked your CryptoCFD second factor",
    "Wrong authenticator codes were tried for your CryptoCFD back-office sign-in, so checking "
    "codes is locked for a while, longer each time it happens again.\n\n"
    "If this was not you, someone holds your session or token and is guessing codes: sign "
    "out everywhere and tell an admin.\n",
)


def _entry(
    resources: Resources,
    staff: Staff,
    client_addr: str,
    action: str,
    *,
    before: object = None,
    after: object = None,
) -> AuditEntry:
    """The audit entry of ``staff`` acting on their own second factor."""
    return AuditEntry(
        actor_id=staff.user_id,
        actor=staff.email,
        action=action,
        target=f"user:{staff.user_id}",
        before=before,
        after=after,
        client_addr=client_addr,
        at=now_utc(resources.clock),
    )


async def setup(resources: Resources, principal: Principal, client_addr: str) -> TotpSetupOut:
    """A new secret for the caller's authenticator, shown this once; it stays pending (a new
    setup replaces it) until a first right code verifies it."""
    staff = await staff_of(resources, principal)
    if not is_fresh(principal.signed_in_at_ms, resources.clock.now_ms()):
        raise ApiError(
            403,
            "FRESH_SIGN_IN_REQUIRED",
            "to set up the second factor, sign in by email link again (it counts for 5 minutes)",
        )
    secret = new_secret()
    async with resources.pool.acquire() as conn, conn.transaction():
        stored = await store_pending_secret(
            conn, sealer(resources.secret), staff.user_id, secret, now_utc(resources.clock)
        )
        if not stored:
            raise ApiError(
                409, "TOTP_ALREADY_SET_UP", "the second factor is set up and verified already"
            )
        await append(conn, _entry(resources, staff, client_addr, SETUP, after={"verified": False}))
    return TotpSetupOut(secret, otpauth_uri(secret, staff.email))


async def verify(
    resources: Resources, principal: Principal, body: TotpVerifyRequest, client_addr: str
) -> TotpVerified:
    """Raise the caller's session or token with a right, unused code; a 401 otherwise, and a
    429 after too many wrong ones."""
    staff = await staff_of(resources, principal)
    factor = await totp_secret_of(resources.pool, sealer(resources.secret), staff.user_id)
    if factor is None:
        message = "set up the second factor first: POST /api/v1/auth/totp/setup"
        raise ApiError(409, "TOTP_NOT_SET_UP", message)
    attempt = PinAttempt(resources, staff.email, TOTP, known_device=True, refusal=TOTP_LOCKED)
    await attempt.begin()
    step = matching_step(factor.secret, body.code, resources.clock.now_ms())
    verified = None
    if step is not None:
        async with resources.pool.acquire() as conn, conn.transaction():
            if await claim_step(conn, staff.user_id, step, now_utc(resources.clock)):
                verified = await _raise(resources, conn, principal)
                before = {"verified": factor.verified}
                after = {"verified": True, "raised_until": verified.raised_until}
                entry = _entry(resources, staff, client_addr, VERIFY, before=before, after=after)
                await append(conn, entry)
    if verified is not None:
        await attempt.succeeded()
        return verified
    locked = await attempt.failed()
    reason = "wrong_code" if step is None else "code_reused"
    async with resources.pool.acquire() as conn, conn.transaction():
        await append(conn, _entry(resources, staff, client_addr, REFUSED, after={"reason": reason}))
        if locked:
            await notify(resources, conn, staff.email, *LOCKED_EMAIL)
    if step is None:
        raise ApiError(401, "INVALID_TOTP_CODE", "that code is not the authenticator's current one")
    raise ApiError(401, "TOTP_CODE_REUSED", "that code was used already: wait for the next one")


async def _raise(resources: Resources, conn: Connection, principal: Principal) -> TotpVerified:
    """Raise the browser session, or make the token client a raised access token."""
    now_ms = resources.clock.now_ms()
    if principal.session_hash is not None:
        if not await raise_session(conn, principal.session_hash, now_utc(resources.clock)):
            raise ApiError(401, "UNAUTHENTICATED", "session expired or signed out")
        return TotpVerified("operator", iso_ms(now_ms + RAISED_TTL_MS))
    assert principal.family is not None  # a bearer token's: API keys never reach here
    expires_at_ms = now_ms + min(ACCESS_TOKEN_TTL_MS, RAISED_TTL_MS)
    claims = AccessClaims(
        principal.user_id,
        principal.family,
        expires_at_ms,
        principal.device_id,
        principal.signed_in_at_ms,
        raised_at_ms=now_ms,
    )
    token = sign_access_token(resources.secret, claims)
    return TotpVerified("operator", iso_ms(expires_at_ms), token, (expires_at_ms - now_ms) // 1000)
