"""Who is calling: a bearer access token, or a browser session cookie with its CSRF token.

Bearer tokens are checked without a database round trip (signature, expiry, and a Redis
marker set when their family is revoked). Session cookies are looked up in PostgreSQL, and
every write made with one must carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar import Request
from litestar.di import NamedDependency

from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.ratelimit import add_hits, check_hits, scope_ip, windowed
from cryptocfd.gateway.resources import Resources, resources_of
from cryptocfd.identity.tokens import (
    ACCESS_TOKEN_TTL_MS,
    BadToken,
    csrf_matches,
    token_hash,
    verify_access_token,
)
from cryptocfd.store.credentials import live_session
from cryptocfd.store.logins import utcnow

SESSION_COOKIE = "cfd_session"
CSRF_COOKIE = "cfd_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PER_USER_LIMIT = "per_user_limit"  # handler opt: count the request against the user's limit


class Principal(msgspec.Struct, frozen=True):
    """The signed-in user of a request, and how they signed in."""

    user_id: int
    family: str | None = None  # bearer tokens: the revocable token family
    device_id: str | None = None
    session_hash: bytes | None = None  # cookie sessions: the stored hash of the session id
    signed_in_at_ms: int | None = None  # when a sign-in link began this session or family

    @property
    def account_id(self) -> int:
        """The user's trading account (one per user, same id)."""
        return self.user_id


Caller = NamedDependency[Principal]
"""A handler parameter ``principal: Caller`` receives the signed-in caller."""


def revoked_key(resources: Resources, family: str) -> str:
    """The Redis marker that a token family's access tokens no longer count."""
    return f"{resources.prefix}revoked:{family}"


async def mark_family_revoked(resources: Resources, family: str) -> None:
    """Refuse the family's outstanding access tokens until they would have expired anyway."""
    await resources.redis.set(revoked_key(resources, family), b"1", px=ACCESS_TOKEN_TTL_MS)


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message, {"WWW-Authenticate": "Bearer"})


async def _gate(
    resources: Resources, request: Request[Any, Any, Any], user_id: int, family: str | None
) -> None:
    """At most one Redis round trip: the family's revocation marker (bearer tokens) and the
    per-user counter on routes that opt in (trading writes). The per-IP counter was counted
    before routing (``edge.PerIpLimit``)."""
    counters, limits = [], []
    if request.route_handler.opt.get(PER_USER_LIMIT):
        counters.append(windowed(f"{resources.prefix}rl:user:{user_id}"))
        limits.append(resources.settings.rate_per_user_per_min)
    if not counters:  # one command costs the gateway less than a pipeline of one
        if family is not None and await resources.redis.exists(revoked_key(resources, family)):
            raise _unauthenticated("access token revoked")
        return
    async with resources.redis.pipeline(transaction=False) as pipe:
        if family is not None:
            pipe.exists(revoked_key(resources, family))
        add_hits(pipe, counters)
        results = await pipe.execute()
    if family is not None:
        if results[0]:
            raise _unauthenticated("access token revoked")
        results = results[1:]
    check_hits(results[::2], limits)


async def _bearer(resources: Resources, request: Request[Any, Any, Any], token: str) -> Principal:
    try:
        claims = verify_access_token(resources.secret, token, int(time.time() * 1000))
    except BadToken as exc:
        raise _unauthenticated(str(exc)) from exc
    await _gate(resources, request, claims.user_id, claims.family)
    return Principal(
        claims.user_id,
        family=claims.family,
        device_id=claims.device_id,
        signed_in_at_ms=claims.signed_in_at_ms,
    )


async def _session(resources: Resources, request: Request[Any, Any, Any], sid: str) -> Principal:
    id_hash = token_hash(sid)
    session = await live_session(resources.pool, id_hash, utcnow())
    if session is None:
        raise _unauthenticated("session expired or signed out")
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented or not csrf_matches(resources.secret, sid, presented):
            raise ApiError(403, "CSRF_FAILED", "missing or wrong X-CSRF-Token for this session")
    await _gate(resources, request, session.user_id, None)
    signed_in_at_ms = int(session.created_at.timestamp() * 1000)
    return Principal(session.user_id, session_hash=id_hash, signed_in_at_ms=signed_in_at_ms)


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller, or a 401 (403 for a cookie write without its CSRF token)."""
    resources = resources_of(request.app)
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("expected Authorization: Bearer <access token>")
        return await _bearer(resources, request, token.strip())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        return await _session(resources, request, sid)
    raise _unauthenticated("sign in first: a bearer token or a session cookie")


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address as the server saw it."""
    return scope_ip(request.scope)
