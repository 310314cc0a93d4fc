"""The steps of signing in, shared by the auth routes: links, tokens, sessions, accounts."""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Response

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
    requester_hash,
    sign_access_token,
    token_hash,
)
from cryptocfd.store.credentials import RefreshGrant, add_refresh_token, add_session, new_family
from cryptocfd.store.database import Connection, Db
from cryptocfd.store.locks import SIGN_IN_LOCK
from cryptocfd.store.logins import add_login_token, unused_links_from, utcnow
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.store.users import User
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.rejections import RejectCode, Rejection

log = logging.getLogger(__name__)

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verified against when there is no PIN to check, so a miss costs what a wrong PIN costs.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


async def send_login_link(resources: Resources, email: str, requester: str) -> None:
    """Queue a sign-in email for ``email`` unless ``requester`` (the client's IP) already has
    its hourly share of unused links out for it.

    The work is the same whether or not the address has an account: the first sign-in is
    also the sign-up, so nothing here even looks the address up. The share is per requester,
    so no one else's requests can use up the owner's ability to sign in.
    """
    token = secrets.token_urlsafe(32)  # 256 bits
    now = utcnow()
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
    *,
    by_link: bool = False,
) -> TokensOut:
    """A fresh access token and refresh token, in a new family unless one is given.

    ``by_link`` marks the access token as a fresh sign-in (refreshed ones never are)."""
    family = family or new_family()
    refresh = secrets.token_urlsafe(32)
    grant = RefreshGrant(user.id, family, device_id)
    await add_refresh_token(conn, token_hash(refresh), grant, utcnow(), REFRESH_TOKEN_TTL_MS)
    now = now_ms()
    signed_in_at = now if by_link else None
    claims = AccessClaims(user.id, family, now + ACCESS_TOKEN_TTL_MS, device_id, signed_in_at)
    return TokensOut(
        access_token=sign_access_token(resources.secret, claims),
        refresh_token=refresh,
        expires_in=ACCESS_TOKEN_TTL_MS // 1000,
        user=UserOut(user.id, user.email),
    )


def token_response(tokens: TokensOut) -> Response[TokensOut]:
    """Tokens as an answer no cache keeps (RFC 6749 §5.1)."""
    return Response(tokens, headers={"Cache-Control": "no-store"})


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
