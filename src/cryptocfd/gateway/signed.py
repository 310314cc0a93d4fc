"""The check of a request signed with an API key (``identity.apikeys`` has the rules).

In order: the timestamp inside its window (no lookup for a stale request), the key (from a
cache of a few seconds, else PostgreSQL), the signature (the one step that differs between
HMAC and Ed25519 keys: ``LiveKey.verifier``), the client's address against the
key's allowlist, the route's scope; then one Redis round trip that asks whether the key was
revoked since it was cached, marks the signature used (a replay within its window is refused,
never applied) and counts the per-user limit on the routes that count it.

A revoked key is refused at once on every gateway: revoking sets a Redis marker that outlives
every cache entry, and PostgreSQL says the rest once the entry expires.
"""

from __future__ import annotations

import ipaddress

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.ratelimit import Window, add_hits, check_hits, window_of, windowed
from cryptocfd.gateway.resources import CachedKey, Resources
from cryptocfd.identity.apikeys import (
    AHEAD_MS,
    CLOCK_SKEW_MS,
    Scope,
    SignatureRefused,
    Signed,
    check_window,
    replay_key,
)
from cryptocfd.store.api_keys import LiveKey, live_key, mark_used, sealer

CACHE_MS = 5_000  # how long a looked-up key is trusted before PostgreSQL is asked again
MARK_USED_EVERY_MS = 60_000  # ``last_used_at`` is a minute's precision, not a write a request


def revoked_key_marker(resources: Resources, api_key: str) -> str:
    """The Redis marker that ``api_key`` was revoked (set for longer than any cache holds it)."""
    return f"{resources.prefix}revoked-key:{api_key}"


async def mark_key_revoked(resources: Resources, api_key: str) -> None:
    """Refuse ``api_key`` on every gateway now, whatever their caches hold."""
    resources.key_cache.entries.pop(api_key, None)
    await resources.redis.set(revoked_key_marker(resources, api_key), b"1", px=CACHE_MS * 2)


async def still_live(resources: Resources, api_key: str) -> bool:
    """Whether ``api_key`` is still live: not revoked (the marker, then PostgreSQL once its
    cache entry is old). A websocket signed in with a key asks this again while it is open,
    since its one signature cannot be checked twice."""
    if await resources.redis.exists(revoked_key_marker(resources, api_key)):
        resources.key_cache.entries.pop(api_key, None)
        return False
    return await _cached(resources, api_key, resources.clock.now_ms()) is not None


def _refused(status: int, code: str, message: str) -> ApiError:
    headers = {"WWW-Authenticate": "CFD-HMAC-SHA256"} if status == 401 else {}
    return ApiError(status, code, message, headers)


async def check_signed(
    resources: Resources,
    signed: Signed,
    scope: Scope | None,
    *,
    per_user_limit: bool,
) -> tuple[LiveKey, Window | None]:
    """The key that signed the request and the per-user window where the route counts it, or
    the API error that refuses the request."""
    now_ms = resources.clock.now_ms()
    try:
        window_ms = check_window(signed, now_ms)
    except SignatureRefused as refused:
        raise _refused(401, refused.code, str(refused)) from refused
    cached = await _cached(resources, signed.api_key, now_ms)
    if cached is None:
        raise _refused(401, "UNKNOWN_API_KEY", "no live API key has this X-CFD-API-KEY")
    key = cached.key
    if not key.verifier.matches(signed):
        raise _refused(401, "BAD_SIGNATURE", "X-CFD-SIGNATURE does not match the request")
    if key.ip_allowlist and not _allowed(signed.client_ip, key):
        message = f"{signed.client_ip} is not on this key's allowlist"
        raise _refused(403, "IP_NOT_ALLOWED", message)
    if scope is None:
        raise _refused(403, "API_KEY_NOT_ALLOWED", "this route takes a signed-in session or token")
    if scope not in key.scopes:
        raise _refused(403, "SCOPE_REQUIRED", f"this route needs a key with the {scope} scope")
    window = await _gate(resources, signed, key, window_ms, now_ms, per_user_limit=per_user_limit)
    if now_ms - cached.marked_ms >= MARK_USED_EVERY_MS:
        cached.marked_ms = now_ms
        await mark_used(resources.pool, key.key_id, now_utc(resources.clock))
    return key, window


async def _cached(resources: Resources, api_key: str, now_ms: int) -> CachedKey | None:
    cached = resources.key_cache.entries.get(api_key)
    if cached is not None and now_ms - cached.loaded_ms < CACHE_MS:
        return cached
    key = await live_key(resources.pool, sealer(resources.secret), api_key)
    if key is None:
        resources.key_cache.entries.pop(api_key, None)
        return None
    marked_ms = -MARK_USED_EVERY_MS if cached is None else cached.marked_ms
    cached = resources.key_cache.entries[api_key] = CachedKey(key, now_ms, marked_ms)
    return cached


def _allowed(client_ip: str, key: LiveKey) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in key.ip_allowlist)


async def _gate(
    resources: Resources,
    signed: Signed,
    key: LiveKey,
    window_ms: int,
    now_ms: int,
    *,
    per_user_limit: bool,
) -> Window | None:
    now_s = now_ms // 1000
    used = f"{resources.prefix}signature:{replay_key(signed)}"
    async with resources.redis.pipeline(transaction=False) as pipe:
        pipe.exists(revoked_key_marker(resources, signed.api_key))
        # Past its window (on any gateway's clock) the signature is stale, and the mark can go.
        pipe.set(used, b"1", nx=True, px=window_ms + AHEAD_MS + CLOCK_SKEW_MS)
        if per_user_limit:
            add_hits(pipe, [windowed(f"{resources.prefix}rl:user:{key.user_id}", now_s)])
        results = await pipe.execute()
    if results[0]:
        resources.key_cache.entries.pop(signed.api_key, None)
        raise _refused(401, "UNKNOWN_API_KEY", "this API key was revoked")
    if not results[1]:
        raise _refused(401, "BAD_SIGNATURE", "this signature was used already: sign each request")
    if not per_user_limit:
        return None
    limit = resources.settings.rate_per_user_per_min
    check_hits([results[2]], [limit], now_s)
    return window_of(limit, int(results[2]), now_s)
