"""Signing in: by emailed link or mobile PIN; tokens, sessions, and signing out.

The first sign-in is also the sign-up: spending a link makes the user and opens their demo
account. Tokens are a short-lived access token and a rotating refresh token; a browser gets a
session cookie instead. Setting or removing a PIN needs a fresh sign-in by link or the current
PIN, so a leaked access token cannot become a PIN; the owner is emailed each time. Wrong PINs
lock per address and device (``gateway.pinlock``), the same for every address.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.auth import Principal, mark_family_revoked
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.pinlock import CHANGE, PinAttempt
from cryptocfd.gateway.ratelimit import hit
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import (
    LoginAccepted,
    LoginRequest,
    PinLoginRequest,
    PinRequest,
    TokensOut,
    UserOut,
)
from cryptocfd.gateway.usecases.send import ensure_account
from cryptocfd.identity.emails import InvalidEmail, normalize_email
from cryptocfd.identity.pins import PinRefused, check_pin
from cryptocfd.identity.tokens import (
    ACCESS_TOKEN_TTL_MS,
    LOGIN_EMAILS_PER_HOUR,
    LOGIN_TOKEN_TTL_MS,
    REFRESH_TOKEN_TTL_MS,
    SESSION_TTL_MS,
    AccessClaims,
    is_fresh,
    requester_hash,
    sign_access_token,
    token_hash,
)
from cryptocfd.store.credentials import (
    RefreshGrant,
    add_refresh_token,
    add_session,
    device_families,
    new_family,
    revoke_family,
    revoke_session,
    signed_in_device,
    spend_refresh_token,
)
from cryptocfd.store.database import Connection, Db
from cryptocfd.store.locks import SIGN_IN_LOCK
from cryptocfd.store.logins import add_login_token, live_login_email, unused_links_from
from cryptocfd.store.logins import use_login_token as spend_login_token
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.store.pins import pin_hash_of, remove_pin, set_pin
from cryptocfd.store.users import User, get_or_create_user, user_by_email, user_by_id

log = logging.getLogger(__name__)

LOGIN_ACCEPTED = LoginAccepted(
    "If that address can receive email, a sign-in link is on its way. It works once, "
    "for 15 minutes."
)


def email_of(text: str) -> str:
    """An address as the platform stores it, or a 400 ``INVALID_EMAIL``."""
    try:
        return normalize_email(text)
    except InvalidEmail as exc:
        raise ApiError(400, "INVALID_EMAIL", str(exc)) from exc


async def login(resources: Resources, body: LoginRequest, ip: str) -> LoginAccepted:
    """Email a sign-in link, within the per-IP limits; the same answer either way."""
    email = email_of(body.email)
    ip_key = f"{resources.prefix}rl:login-ip:{ip}"
    settings = resources.settings
    await hit(resources.redis, ip_key, settings.logins_per_ip_per_min, resources.clock)
    per_hour = settings.login_links_per_ip_per_hour
    await hit(resources.redis, f"{ip_key}:h", per_hour, resources.clock, window_s=3600)
    await send_login_link(resources, email, ip)
    return LOGIN_ACCEPTED


async def send_login_link(resources: Resources, email: str, requester: str) -> None:
    """Queue a sign-in email for ``email`` unless ``requester`` (the client's IP) already has
    its hourly share of unused links out for it.

    The work is the same whether or not the address has an account: the first sign-in is
    also the sign-up, so nothing here even looks the address up. The share is per requester,
    so no one else's requests can use up the owner's ability to sign in.
    """
    token = secrets.token_urlsafe(32)  # 256 bits
    now = now_utc(resources.clock)
    by = requester_hash(resources.secret, requester)
    async with resources.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", SIGN_IN_LOCK, email)
        if await unused_links_from(conn, email, by, now) >= LOGIN_EMAILS_PER_HOUR:
            log.info("sign-in link not sent: hourly limit reached for an address")
            return
        await add_login_token(conn, token_hash(token), email, by, now, LOGIN_TOKEN_TTL_MS)
        link = f"{resources.settings.public_url}/api/v1/auth/verify?{urlencode({'token': token})}"
        await notify(resources, conn, email, "Your CryptoCFD sign-in link", _login_body(link))


async def notify(
    resources: Resources, conn: Connection, email: str, subject: str, body: str
) -> None:
    """Queue an email to ``email`` in ``conn``'s transaction, sealed with the server key."""
    await enqueue_email(conn, resources.secret, email, subject, body)


def _login_body(link: str) -> str:
    return (
        "Sign in to CryptoCFD with this link. It works once, for the next 15 minutes:\n\n"
        f"{link}\n\n"
        "If you did not ask to sign in, ignore this email: nothing happens without the link.\n"
    )


def invalid_link() -> ApiError:
    """The one answer for a link that is unknown, used or expired."""
    return ApiError(400, "INVALID_LOGIN_LINK", "this sign-in link is unknown, used or expired")


async def link_email(resources: Resources, token: str) -> str:
    """The address a live link is for, without spending it; else a 400."""
    email = await live_login_email(resources.pool, token_hash(token), now_utc(resources.clock))
    if email is None:
        raise invalid_link()
    return email


async def spend_link(resources: Resources, token: str) -> User:
    """Spend the link's token; the first sign-in opens the demo account."""
    # The token is spent, the user made and the account opened in one transaction: if the
    # engine does not answer, nothing is kept and the same link works again.
    async with resources.pool.acquire() as conn, conn.transaction():
        email = await spend_login_token(conn, token_hash(token), now_utc(resources.clock))
        if email is None:
            raise invalid_link()
        user, _created = await get_or_create_user(conn, email)
        await ensure_account(resources, user.id)
    return user


async def tokens_for_link(resources: Resources, token: str) -> TokensOut:
    """Spend the link's token for an API client's tokens (a fresh sign-in)."""
    user = await spend_link(resources, token)
    return await issue_tokens(resources, resources.pool, user, by_link=True)


async def browser_session(resources: Resources, token: str, old_session: str | None) -> str:
    """Spend the link's token for a new browser session id (ending ``old_session``)."""
    user = await spend_link(resources, token)
    if old_session:  # never carry a session over a sign-in: a planted id must not become valid
        await revoke_session(resources.pool, token_hash(old_session))
    return await start_session(resources, user)


async def issue_tokens(
    resources: Resources,
    conn: Db,
    user: User,
    family: str | None = None,
    device_id: str | None = None,
    *,
    by_link: bool = False,
) -> TokensOut:
    """A fresh access token and refresh token, in a new family unless one is given.

    ``by_link`` marks the access token as a fresh sign-in (refreshed ones never are)."""
    family = family or new_family()
    refresh = secrets.token_urlsafe(32)
    grant = RefreshGrant(user.id, family, device_id)
    now = resources.clock.now_ms()
    await add_refresh_token(
        conn, token_hash(refresh), grant, now_utc(resources.clock), REFRESH_TOKEN_TTL_MS
    )
    signed_in_at = now if by_link else None
    claims = AccessClaims(user.id, family, now + ACCESS_TOKEN_TTL_MS, device_id, signed_in_at)
    return TokensOut(
        access_token=sign_access_token(resources.secret, claims),
        refresh_token=refresh,
        expires_in=ACCESS_TOKEN_TTL_MS // 1000,
        user=UserOut(user.id, user.email),
    )


async def start_session(resources: Resources, user: User) -> str:
    """A new browser session id for ``user`` (always fresh: no session fixation)."""
    sid = secrets.token_urlsafe(32)
    now = now_utc(resources.clock)
    await add_session(resources.pool, token_hash(sid), user.id, now, SESSION_TTL_MS)
    return sid


async def refresh(resources: Resources, refresh_token: str) -> TokensOut:
    """Spend a refresh token for new tokens. A spent token presented again revokes its family."""
    async with resources.pool.acquire() as conn, conn.transaction():
        grant, reused_family = await spend_refresh_token(
            conn, token_hash(refresh_token), now_utc(resources.clock)
        )
        if grant is not None:
            user = await user_by_id(conn, grant.user_id)
            assert user is not None  # refresh tokens reference users, never deleted
            return await issue_tokens(resources, conn, user, grant.family, grant.device_id)
    if reused_family is not None:
        await revoke_family(resources.pool, reused_family)
        await mark_family_revoked(resources, reused_family)
    raise ApiError(401, "INVALID_REFRESH_TOKEN", "refresh token unknown, spent, revoked or expired")


async def logout(resources: Resources, principal: Principal) -> None:
    """End this session, or revoke this token family (its access and refresh tokens)."""
    if principal.session_hash is not None:
        await revoke_session(resources.pool, principal.session_hash)
    if principal.family is not None:
        await revoke_family(resources.pool, principal.family)
        await mark_family_revoked(resources, principal.family)


async def me(resources: Resources, principal: Principal) -> UserOut:
    """The signed-in user."""
    user = await user_by_id(resources.pool, principal.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "no such user")
    return UserOut(user.id, user.email)


# -- the mobile PIN ---------------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verified against when there is no PIN to check, so a miss costs what a wrong PIN costs.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


async def set_mobile_pin(resources: Resources, principal: Principal, body: PinRequest) -> None:
    """Set or change the PIN, email the owner, and sign out the devices the old one signed in
    (it may have been changed because it leaked)."""
    try:
        pin = check_pin(body.pin)
    except PinRefused as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    user = await _fresh_or_current_pin(resources, principal, body.current_pin)
    async with resources.pool.acquire() as conn, conn.transaction():
        replaced = await set_pin(conn, user.id, await hash_pin(pin))
        await notify(resources, conn, user.email, *pin_set_email(replaced=replaced))
    await _revoke_devices(resources, principal.user_id)


async def remove_mobile_pin(
    resources: Resources, principal: Principal, current_pin: str | None
) -> None:
    """Remove the PIN and revoke every token a PIN sign-in issued; the owner is emailed."""
    user = await _fresh_or_current_pin(resources, principal, current_pin)
    async with resources.pool.acquire() as conn, conn.transaction():
        if await remove_pin(conn, user.id):
            await notify(resources, conn, user.email, *pin_email("removed"))
    await _revoke_devices(resources, user.id)


async def pin_login(resources: Resources, body: PinLoginRequest, ip: str) -> TokensOut:
    """Tokens bound to the device, for the right PIN; a lock after too many wrong ones."""
    ip_key = f"{resources.prefix}rl:pin-ip:{ip}"
    await hit(resources.redis, ip_key, resources.settings.logins_per_ip_per_min, resources.clock)
    email = email_of(body.email)
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
            await notify(resources, conn, email, *pin_locked_email())
    raise invalid_credentials()


async def _fresh_or_current_pin(
    resources: Resources, principal: Principal, current_pin: str | None
) -> User:
    """The caller, if their sign-in by link is fresh or ``current_pin`` is their PIN; else a
    403 (so a leaked access token can neither set nor remove a PIN)."""
    user = await user_by_id(resources.pool, principal.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "no such user")
    if not is_fresh(principal.signed_in_at_ms, resources.clock.now_ms()):
        await _check_current_pin(resources, user, current_pin)
    return user


async def _check_current_pin(resources: Resources, user: User, current_pin: str | None) -> None:
    """Pass when ``current_pin`` is the user's PIN (tries count like sign-in tries); else 403."""
    refused = ApiError(
        403, "FRESH_SIGN_IN_REQUIRED",
        "to set, change or remove the PIN, sign in by email link again (it counts for 5"
        " minutes) or give the current PIN as current_pin",
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


async def _revoke_devices(resources: Resources, user_id: int) -> None:
    for family in await device_families(resources.pool, user_id):
        await revoke_family(resources.pool, family)
        await mark_family_revoked(resources, family)


async def hash_pin(pin: str) -> str:
    """The argon2id hash of a PIN (computed off the event loop)."""
    return await asyncio.to_thread(_hasher.hash, pin)


async def pin_matches(pin_hash: str | None, pin: str) -> bool:
    """Whether ``pin`` matches; with no hash it still spends the time a check takes."""
    try:
        await asyncio.to_thread(_hasher.verify, pin_hash or _DUMMY_HASH, pin)
    except (VerificationError, InvalidHashError):
        return False
    return pin_hash is not None


def invalid_credentials() -> ApiError:
    """The one answer for an unknown email, a missing PIN and a wrong PIN."""
    return ApiError(401, "INVALID_CREDENTIALS", "wrong email or PIN")


def pin_set_email(*, replaced: bool) -> tuple[str, str]:
    """The subject and body telling the owner their PIN was set or changed."""
    return pin_email("changed" if replaced else "set")


def pin_email(what: str) -> tuple[str, str]:
    """The subject and body telling the owner their PIN was ``what`` (set, changed, removed)."""
    return (
        f"Your CryptoCFD mobile PIN was {what}",
        f"The mobile PIN of your CryptoCFD account was just {what}, and every device signed in "
        "with a PIN before was signed out.\n\n"
        "If this was not you, sign in by email link at once and set, change or remove the PIN.\n",
    )


def pin_locked_email() -> tuple[str, str]:
    """The subject and body telling the owner wrong PINs locked a device.

    The device is not named: its id is the client's to choose, so it is an attacker's text."""
    return (
        "Wrong PINs locked your CryptoCFD mobile sign-in",
        "Wrong PINs were tried for your CryptoCFD account, so PIN sign-in from the device they "
        "were tried on (or from any device new to your account, when many were tried) is "
        "locked for a while, longer each time it happens again.\n\n"
        "If this was not you, someone is guessing your PIN: change it after signing in by "
        "email link. The devices you signed in on with your PIN are not locked.\n",
    )
