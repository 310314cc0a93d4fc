"""The per-IP limit: the client's address as every per-IP limit counts it, and the counter
every request pays before routing (``edge.Edge``)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from cryptocfd.core.clock import WALL, Clock
from cryptocfd.gateway.ratelimit import WINDOW_S, too_many

if TYPE_CHECKING:
    from litestar.types import Scope

# A process counts this share of a limit locally before adding it to the shared counter.
BATCH_SHARE = 100
# INCRBY, and the TTL on a window's first hits, as one command.
_ADD = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


IPV6_PREFIX = 64  # one subscriber's usual share of IPv6: all of it is one client to a limit


def scope_ip(scope: Scope) -> str:
    """The client's address: the socket's peer, or what a trusted proxy forwarded (main.py)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def client_key(ip: str) -> str:
    """What every per-IP limit counts by: an IPv4 address, or an IPv6 address's /64.

    One IPv6 host is usually handed a whole /64, so counting single addresses would let it
    dodge each limit 2**64 times over.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # "unknown", or a unix socket's path
    if isinstance(address, ipaddress.IPv4Address):
        return ip
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))


class BatchedCounter:
    """Per-key counts shared in Redis, added there in batches: the counter every request pays.

    A Redis round trip per request would cost the gateway more than most routes do. So each
    process counts hits locally and adds them to the shared window counter on a key's first hit
    in a window (to learn what other gateways counted) and then every ``limit // BATCH_SHARE``
    hits. A limit of 100 or less is shared on every hit, exactly; above that a client may pass
    its limit by at most 1% per gateway process before every process refuses it.
    """

    def __init__(self, redis: Redis, clock: Clock = WALL) -> None:
        self._script = redis.register_script(_ADD)
        self._clock = clock
        self._window = -1
        self._counts: dict[str, list[int]] = {}  # key -> [shared total seen, not yet shared]

    async def hit_client(self, prefix: str, scope: Scope, limit: int) -> None:
        """Count one request against its client's address (``client_key``); 429 past it."""
        await self.hit(f"{prefix}rl:ip:{client_key(scope_ip(scope))}", limit)

    async def hit(self, key: str, limit: int, window_s: int = WINDOW_S) -> None:
        """Count one request against ``key``; raise a 429 once ``limit`` is passed."""
        now_s = self._clock.now_ms() // 1000
        window = now_s // window_s
        if window != self._window:
            self._window, self._counts = window, {}
        counts = self._counts.setdefault(key, [0, 0])
        counts[1] += 1
        if counts[0] + counts[1] <= limit and (counts[0] == 0 or counts[1] >= limit // BATCH_SHARE):
            adding, counts[1] = counts[1], 0
            try:
                shared = await self._script(keys=[f"{key}:{window}"], args=[window_s + 1, adding])
            except BaseException:
                counts[1] += adding  # keep them for the next try
                raise
            counts[0] = max(counts[0], int(shared))
        if counts[0] + counts[1] > limit:
            raise too_many(limit, now_s, window_s)
