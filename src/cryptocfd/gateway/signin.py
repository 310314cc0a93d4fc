"""The steps of signing in, shared by the auth routes: links, tokens, sessions, accounts."""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cryptocfd.gateway.errors import ApiError, rejected
from cryptocfd.gateway.orders import now_ms
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import TokensOut, UserOut
from cryptocfd.identity.tokens import (
    ACCESS_TOKEN_TTL_MS,
    LOGIN_EMAILS_PER_HOUR,
    LOGIN_TOKEN_TTL_MS,
    REFRESH_TOKEN_TTL_MS,
    SESSION_TTL_MS,
    AccessClaims,
    sign_access_token,
    token_hash,
)
from cryptocfd.store.credentials import RefreshGrant, add_refresh_token, add_session, new_family
from cryptocfd.store.database import Db
from cryptocfd.store.logins import add_login_token, recent_login_count, utcnow
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.store.users import User
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.rejections import RejectCode, Rejection

log = logging.getLogger(__name__)

DEMO_BALANCE_CENTS = 1_000_000  # 10,000.00 USD
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verified against when there is no PIN to check, so a miss costs what a wrong PIN costs.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


async def send_login_link(resources: Resources, email: str) -> None:
    """Queue a sign-in email for ``email`` unless it had its hourly share of links.

    The work is the same whether or not the address has an account: the first sign-in is
    also the sign-up, so nothing here even looks the address up.
    """
    token = secrets.token_urlsafe(32)  # 256 bits
    now = utcnow()
    async with resources.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", email)
        if await recent_login_count(conn, email, now) >= LOGIN_EMAILS_PER_HOUR:
            log.info("sign-in link not sent: hourly limit reached for an address")
            return
        await add_login_token(conn, token_hash(token), email, now, LOGIN_TOKEN_TTL_MS)
        link = f"{resources.settings.public_url}/api/v1/auth/verify?{urlencode({'token': token})}"
        await enqueue_email(conn, email, "Your CryptoCFD sign-in link", _login_body(link))


def _login_body(link: str) -> str:
    return (
        "Sign in to CryptoCFD with this link. It works once, for the next 15 minutes:\n\n"
        f"{link}\n\n"
        "If you did not ask to sign in, ignore this email: nothing happens without the link.\n"
    )


async def ensure_account(resources: Resources, user_id: int) -> None:
    """Open the user's demo account in the engine if it is not open yet (safe to repeat)."""
    outcome = await resources.engine.send(
        OpenAccount(f"open-account:{user_id}", now_ms(), user_id, DEMO_BALANCE_CENTS)
    )
    if isinstance(outcome, Rejection) and outcome.code is not RejectCode.ACCOUNT_EXISTS:
        raise rejected(outcome)


async def issue_tokens(
    resources: Resources,
    conn: Db,
    user: User,
    family: str | None = None,
    device_id: str | None = None,
) -> TokensOut:
    """A fresh access token and refresh token, in a new family unless one is given."""
    family = family or new_family()
    refresh = secrets.token_urlsafe(32)
    grant = RefreshGrant(user.id, family, device_id)
    await add_refresh_token(conn, token_hash(refresh), grant, utcnow(), REFRESH_TOKEN_TTL_MS)
    claims = AccessClaims(user.id, family, now_ms() + ACCESS_TOKEN_TTL_MS, device_id)
    return TokensOut(
        access_token=sign_access_token(resources.secret, claims),
        refresh_token=refresh,
        expires_in=ACCESS_TOKEN_TTL_MS // 1000,
        user=UserOut(user.id, user.email),
    )


async def start_session(resources: Resources, user: User) -> str:
    """A new browser session id for ``user`` (always fresh: no session fixation)."""
    sid = secrets.token_urlsafe(32)
    await add_session(resources.pool, token_hash(sid), user.id, utcnow(), SESSION_TTL_MS)
    return sid


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
