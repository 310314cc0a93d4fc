"""The leader's lease: one engine writes at a time, and Redis itself enforces it.

The lease key (``{prefix}engine:lease``) holds ``epoch:consumer`` with a time to live; the
epoch comes from ``INCR {prefix}engine:epoch`` when the lease is taken, so each holder has its
own. Every engine write is one Lua script that first checks the lease is still the writer's
(``fenced``); a check and a write in one script, never a read followed by a write.

A holder whose lease merely lapsed (it was paused past its time to live) may have it back,
with the same epoch, only while the epoch counter still says its epoch: then nobody took the
lease meanwhile, and nobody wrote. Once another engine has taken it, the counter has moved on
and every write of the old holder is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# The check every script starts with: KEYS[1] the lease, KEYS[2] the epoch counter,
# ARGV[1] our value, ARGV[2] our epoch, ARGV[3] the time to live in ms.
OURS_LUA = """
local function ours()
  local held = redis.call('GET', KEYS[1])
  if held == ARGV[1] then return true end
  if not held and ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
    return true
  end
  return false
end
"""

# Take the lease (ARGV[4]: our consumer name): ours already, or free and taken with a new epoch.
_ACQUIRE = (
    OURS_LUA
    + """
if ours() then return ARGV[1] end
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[4]
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return value
"""
)

_RENEW = (
    OURS_LUA
    + """
if not ours() then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS[3] the stream, ARGV[4] the oldest id to keep.
_TRIM = (
    OURS_LUA
    + """
if not ours() then return -1 end
return redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
"""
)

_RELEASE = (
    OURS_LUA
    + """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
)


def lease_key(prefix: str) -> str:
    """The lease's key: ``epoch:consumer`` of its holder, with the time it has left to live."""
    return f"{prefix}engine:lease"


class LeaseLost(Exception):  # noqa: N818 - it names what happened, as ``CannotRecover`` does
    """Another engine holds the lease now: this one must not write another thing."""


class Lease:
    """This engine's hold (or not) on the leader's lease."""

    def __init__(self, redis: Redis, prefix: str, consumer: str, ttl_ms: int = 2000) -> None:
        self.redis = redis
        self.consumer = consumer
        self.ttl_ms = ttl_ms
        self.keys = [lease_key(prefix), f"{prefix}engine:epoch"]
        # How often the holder renews (and a standby tries to take it): well within the TTL.
        self.renew_s = ttl_ms / 3000  # for asyncio's waits, which take seconds
        self.renew_ns = ttl_ms * 1_000_000 // 3
        self.value = ""  # ``epoch:consumer`` while we hold it
        self.epoch: int | None = None
        # The ``ARGV`` head every fenced script starts with; kept with ``value`` and ``epoch``
        # (``_hold``), since every batch the engine writes sends it.
        self.fence = self._fence()
        self.lost = asyncio.Event()
        self.halted = asyncio.Event()  # set when the holder stops serving: renew no more
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._trim = redis.register_script(_TRIM)

    @property
    def held(self) -> bool:
        """Whether we hold the lease, as far as this process knows (Redis has the last word)."""
        return bool(self.value) and not self.lost.is_set()

    def _fence(self) -> list[str]:
        return [self.value, str(self.epoch or ""), str(self.ttl_ms)]

    def _hold(self, value: str) -> None:
        self.value = value
        self.epoch = int(value.partition(":")[0]) if value else None
        self.fence = self._fence()

    async def acquire(self) -> bool:
        """Take the lease if it is free (or still ours); whether we hold it now."""
        value = await self._acquire(keys=self.keys, args=[*self.fence, self.consumer])
        if value is None:
            return False
        self._hold(value.decode())
        self.lost.clear()
        self.halted.clear()
        return True

    async def holder(self) -> str | None:
        """Who holds the lease now (``epoch:consumer``), if anyone."""
        value = await self.redis.get(self.keys[0])
        return value.decode() if isinstance(value, bytes) else value

    async def renew(self) -> bool:
        """Extend our lease; false (and ``lost`` set) once it is no longer ours."""
        if await self._renew(keys=self.keys, args=self.fence) == 1:
            return True
        self.lose("another engine holds the lease")
        return False

    def lose(self, why: str) -> None:
        """Mark the lease lost: the service stops writing at its next step."""
        if not self.lost.is_set():
            log.error("lease lost (epoch %s): %s; no more writes", self.epoch, why)
            print(f"engine: lease lost (epoch {self.epoch}): {why}", flush=True)
        self.lost.set()

    async def keep(self) -> None:
        """Renew every ``renew_s`` until the lease is lost or ``halted`` (a task of its own).

        It stops on ``halted``, not on being cancelled: a cancellation that lands inside a
        Redis call may come out of redis-py as a connection error, caught below.
        """
        while not self.lost.is_set() and not self.halted.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.halted.wait(), self.renew_s)
            if self.halted.is_set():
                return
            try:
                if not await self.renew():
                    return
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # The service meets the same outage on its own calls; until then a write is
                # still refused by Redis if the lease lapses meanwhile.
                log.warning("could not renew the lease: %s", exc)

    async def trim(self, stream: str, minid: str) -> None:
        """``XTRIM stream MINID minid`` if the lease is still ours (else ``LeaseLost``)."""
        if await self._trim(keys=[*self.keys, stream], args=[*self.fence, minid]) == -1:
            self.lose("Redis refused a trim: another engine holds the lease")
            raise LeaseLost(self.value)

    async def release(self) -> None:
        """Give the lease up (a clean stop), so a standby takes over without waiting."""
        if self.value:
            await self._release(keys=self.keys, args=self.fence)
            self._hold("")
