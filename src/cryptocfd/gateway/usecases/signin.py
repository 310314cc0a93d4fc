"""Signing in by emailed link: links, tokens, sessions, and signing out.

The first sign-in is also the sign-up: spending a link makes the user and opens their demo
account. Tokens are a short-lived access token and a rotating refresh token; a browser gets a
session cookie instead.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.auth import Principal, mark_family_revoked
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.ratelimit import hit
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import LoginAccepted, LoginRequest, TokensOut, UserOut
from cryptocfd.gateway.usecases.send import ensure_account
from cryptocfd.identity.emails import InvalidEmail, normalize_email
from cryptocfd.identity.tokens import (
    ACCESS_TOKEN_TTL_MS,
    LOGIN_EMAILS_PER_HOUR,
    LOGIN_TOKEN_TTL_MS,
    REFRESH_TOKEN_TTL_MS,
    SESSION_TTL_MS,
    AccessClaims,
    requester_hash,
    sign_access_token,
    token_hash,
)
from cryptocfd.store.credentials import (
    RefreshGrant,
    add_refresh_token,
    add_session,
    new_family,
    revoke_family,
    revoke_session,
    spend_refresh_token,
)
from cryptocfd.store.database import Connection, Db
from cryptocfd.store.locks import SIGN_IN_LOCK
from cryptocfd.store.logins import add_login_token, live_login_email, unused_links_from
from cryptocfd.store.logins import use_login_token as spend_login_token
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.store.users import User, get_or_create_user, user_by_id

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
