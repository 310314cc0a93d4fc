"""Who is calling: the one sign-in check, for HTTP requests and websockets alike.

A caller proves who they are with a bearer access token, a browser session cookie or a
request signed with an API key (``authenticate``; the last is ``gateway.signed``'s). Bearer
tokens are checked without a database round trip (signature, expiry, and a Redis marker set
when their family is revoked). Session cookies are looked up in PostgreSQL, and every write
made with one must carry the session's CSRF token in ``X-CSRF-Token``. A websocket checks
the same credential again while it stays open.

The back office asks more (``authorize_operator``): a role, granted on the command line, and
a session or token a right TOTP code raised (``identity.totp``). Its routes are guarded as a
group (``deps.back_office``), so none can forget to ask.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.ratelimit import Window, hit_and_check
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.signed import check_signed
from cryptocfd.identity.apikeys import Scope, Signed
from cryptocfd.identity.roles import Role
from cryptocfd.identity.tokens import (
    ACCESS_TOKEN_TTL_MS,
    BadToken,
    csrf_matches,
    token_hash,
    verify_access_token,
)
from cryptocfd.identity.totp import is_raised
from cryptocfd.store.credentials import live_session
from cryptocfd.store.roles import Staff, staff_by_id

SESSION_COOKIE = "cfd_session"
CSRF_COOKIE = "cfd_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Principal(msgspec.Struct, frozen=True):
    """The signed-in user of a request, and how they signed in."""

    user_id: int
    family: str | None = None  # bearer tokens: the revocable token family
    device_id: str | None = None
    session_hash: bytes | None = None  # cookie sessions: the stored hash of the session id
    signed_in_at_ms: int | None = None  # when a sign-in link began this session or family
    raised_at_ms: int | None = None  # when a TOTP code raised this session or token
    key_id: int | None = None  # requests signed with an API key: the key
    window: Window | None = None  # the per-user limit's, where the route counts it
    account_id: int = 0
    """The engine account the request acts on: the user's demo account (the same id, as
    ``authenticate`` sets it) unless the route acts on the account the request names
    (``deps.ON_ACCOUNT``, ``gateway.acting``). A field, not a property, since every use case
    reads it."""


class Bearer(msgspec.Struct, frozen=True):
    """An access token, as an API client presents it."""

    token: str


class Session(msgspec.Struct, frozen=True):
    """A browser session id; ``csrf`` is the X-CSRF-Token of a write (``None``: a read)."""

    session_id: str
    csrf: str | None = None


Credential = Bearer | Session | Signed


def revoked_key(resources: Resources, family: str) -> str:
    """The Redis marker that a token family's access tokens no longer count."""
    return f"{resources.prefix}revoked:{family}"


async def mark_family_revoked(resources: Resources, family: str) -> None:
    """Refuse the family's outstanding access tokens until they would have expired anyway."""
    await resources.redis.set(revoked_key(resources, family), b"1", px=ACCESS_TOKEN_TTL_MS)


def unauthenticated(message: str) -> ApiError:
    """The 401 of a missing, wrong, expired or revoked sign-in."""
    return ApiError(401, "UNAUTHENTICATED", message, {"WWW-Authenticate": "Bearer"})


async def authenticate(
    resources: Resources,
    credential: Credential,
    *,
    per_user_limit: bool = False,
    scope: Scope | None = None,
) -> Principal:
    """The caller ``credential`` proves, or a 401 (403 for a cookie write without its CSRF
    token; 429 past the per-user limit, counted when ``per_user_limit``). A signed request
    needs the route's API ``scope`` (``None``: the route takes no API key) and is checked
    against its key's allowlist (``gateway.signed``)."""
    if isinstance(credential, Signed):
        key, window = await check_signed(
            resources, credential, scope, per_user_limit=per_user_limit
        )
        return Principal(key.user_id, key_id=key.key_id, window=window, account_id=key.user_id)
    now_ms = resources.clock.now_ms()
    if isinstance(credential, Bearer):
        try:
            claims = verify_access_token(resources.secret, credential.token, now_ms)
        except BadToken as exc:
            raise unauthenticated(str(exc)) from exc
        window = await _gate(
            resources, claims.user_id, claims.family, now_ms, per_user_limit=per_user_limit
        )
        return Principal(
            claims.user_id,
            family=claims.family,
            device_id=claims.device_id,
            signed_in_at_ms=claims.signed_in_at_ms,
            raised_at_ms=claims.raised_at_ms,
            window=window,
            account_id=claims.user_id,
        )
    sid = credential.session_id
    id_hash = token_hash(sid)
    session = await live_session(resources.pool, id_hash, now_utc(resources.clock))
    if session is None:
        raise unauthenticated("session expired or signed out")
    if credential.csrf is not None and not (
        credential.csrf and csrf_matches(resources.secret, sid, credential.csrf)
    ):
        raise ApiError(403, "CSRF_FAILED", "missing or wrong X-CSRF-Token for this session")
    window = await _gate(resources, session.user_id, None, now_ms, per_user_limit=per_user_limit)
    raised = session.raised_at
    return Principal(
        session.user_id,
        session_hash=id_hash,
        signed_in_at_ms=_ms(session.created_at),
        raised_at_ms=None if raised is None else _ms(raised),
        window=window,
        account_id=session.user_id,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def _gate(
    resources: Resources, user_id: int, family: str | None, now_ms: int, *, per_user_limit: bool
) -> Window | None:
    """At most one Redis round trip: the family's revocation marker (bearer tokens) and the
    per-user counter on routes that opt in (trading writes), whose window is returned. The
    per-IP counter was counted before routing (``edge.Edge``)."""
    revoked = None if family is None else revoked_key(resources, family)
    if not per_user_limit:  # one command costs the gateway less than a pipeline of one
        if revoked is not None and await resources.redis.exists(revoked):
            raise unauthenticated("access token revoked")
        return None
    counter = f"{resources.prefix}rl:user:{user_id}"
    limit = resources.settings.rate_per_user_per_min
    window = await hit_and_check(resources.redis, counter, limit, now_ms // 1000, revoked)
    if window is None:
        raise unauthenticated("access token revoked")
    return window


class Operator(msgspec.Struct, frozen=True):
    """A caller the back office lets in: signed in, holding a role, raised by a TOTP code;
    and the client address their actions are audited from."""

    principal: Principal
    email: str
    roles: frozenset[Role]
    client_ip: str


ALL_ROLES = frozenset(Role)


def role_required(allowed: frozenset[Role] = ALL_ROLES) -> ApiError:
    """The 403 of a caller without any of the ``allowed`` roles."""
    names = " or ".join(sorted(allowed))
    return ApiError(403, "OPERATOR_ROLE_REQUIRED", f"this needs the {names} role")


async def staff_of(
    resources: Resources, principal: Principal, allowed: frozenset[Role] = ALL_ROLES
) -> Staff:
    """The caller with their roles, or a 403 unless they hold one of ``allowed``; never for a
    request signed with an API key (a key is a trader's robot, never an operator)."""
    if principal.key_id is not None:
        raise ApiError(403, "API_KEY_NOT_ALLOWED", "this route takes a signed-in session or token")
    staff = await staff_by_id(resources.pool, principal.user_id)
    if staff is None or not staff.roles & allowed:
        raise role_required(allowed)
    return staff


async def authorize_operator(
    resources: Resources, principal: Principal, client_ip: str, allowed: frozenset[Role]
) -> Operator:
    """The operator ``principal`` is: a 403 without one of the ``allowed`` roles (checked
    first: a trader learns nothing of the second factor), then a 401 unless a TOTP code
    raised this session or token within its shift."""
    staff = await staff_of(resources, principal, allowed)
    if not is_raised(principal.raised_at_ms, resources.clock.now_ms()):
        raise ApiError(
            401,
            "SECOND_FACTOR_REQUIRED",
            "the back office needs your second factor: POST /api/v1/auth/totp/verify {code}",
            {"WWW-Authenticate": "Bearer"},
        )
    return Operator(principal, staff.email, staff.roles, client_ip)
