"""PIN lock-outs per (address, device), in Redis, the same for every address; and the same
rule for an operator's TOTP codes (the "device" ``TOTP``), so there is one lock-out rule.

Whether or not the address has an account or a PIN, wrong tries count and lock alike, so the
lock tells no one who has a PIN; and it is per device, so no one can lock the owner's own
phone out by guessing from theirs. Each try is counted before the PIN is checked, so a burst
of parallel guesses cannot slip past the count. Devices the address never signed in on also
share one hourly budget of wrong tries (a device id is the client's to choose), counted the
same way, before the check, and given back by a right PIN; the owner's own devices are not held
to it. The policy (how many, how long) is
``cryptocfd.identity.pins``.
"""

from __future__ import annotations

import hashlib

from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.ratelimit import add_hits, windowed
from cryptocfd.gateway.resources import Resources
from cryptocfd.identity.pins import (
    MAX_FAILED_ATTEMPTS,
    MAX_NEW_DEVICE_FAILURES_PER_HOUR,
    after_failure,
    is_locked,
    lock_ms,
)

HOUR_S = 60 * 60
STATE_TTL_S = 7 * 24 * 60 * 60  # locks so far are remembered a week after the last try
CHANGE = "\0change"  # the "device" of PIN changes that give the current PIN (no device id has NUL)
TOTP = "\0totp"  # the "device" of an operator's TOTP codes (``usecases.totp``)
PIN_LOCKED = ("PIN_LOCKED", "PINs")
TOTP_LOCKED = ("TOTP_LOCKED", "TOTP codes")


def _key(resources: Resources, email: str, device_id: str) -> str:
    digest = hashlib.sha256(f"{email}\0{device_id}".encode()).hexdigest()
    return f"{resources.prefix}pinlock:{digest}"


def _new_devices_key(resources: Resources, email: str) -> str:
    digest = hashlib.sha256(email.encode()).hexdigest()
    now_s = resources.clock.now_ms() // 1000
    return windowed(f"{resources.prefix}pinfail-new:{digest}", now_s, HOUR_S)


def _locked(retry_ms: int, refusal: tuple[str, str]) -> ApiError:
    retry = retry_ms // 1000 + 1
    code, what = refusal
    message = f"too many wrong {what}; try again in {retry} s"
    return ApiError(429, code, message, {"Retry-After": str(retry)})


class PinAttempt:
    """One PIN try of ``email`` on ``device_id``: ``begin``, check the PIN, then ``succeeded``
    or ``failed``. ``refusal`` is the code and noun of the 429 (``TOTP_LOCKED`` for codes)."""

    def __init__(
        self,
        resources: Resources,
        email: str,
        device_id: str,
        *,
        known_device: bool = False,
        refusal: tuple[str, str] = PIN_LOCKED,
    ) -> None:
        self.refusal = refusal
        self.redis = resources.redis
        self.clock = resources.clock
        self.key = _key(resources, email, device_id)
        # The owner's own devices are not held to the new devices' budget.
        self.budget_key = None if known_device else _new_devices_key(resources, email)
        self.tries = 0
        self.locks = 0
        self.spent = 0  # the new devices' budget used, this try included

    async def begin(self) -> None:
        """Count the try, on the pair and on the new devices' budget; raise a 429 while the
        pair is locked or the budget is spent (a refused try counts on neither)."""
        now = self.clock.now_ms()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.key, "tries", 1)
            pipe.hmget(self.key, ["locked_until", "locks"])
            pipe.expire(self.key, STATE_TTL_S)
            if self.budget_key is not None:  # counted before the check: parallel tries too
                add_hits(pipe, [self.budget_key], HOUR_S)
            tries, (locked_until, locks), _, *spent = await pipe.execute()
        self.tries, self.locks = int(tries), int(locks or 0)
        self.spent = int(spent[0]) if spent else 0
        if self.spent > MAX_NEW_DEVICE_FAILURES_PER_HOUR:
            await self._uncount()
            raise _locked((HOUR_S - now // 1000 % HOUR_S) * 1000, self.refusal)
        until = int(locked_until or 0)
        locked = is_locked(until, now)
        if locked or self.tries > MAX_FAILED_ATTEMPTS:  # more: parallel tries beat the lock
            await self._uncount()  # a refused try is no guess
            wait_ms = until - now if locked else lock_ms(max(self.locks - 1, 0))
            raise _locked(wait_ms, self.refusal)

    async def _uncount(self, *, pair: bool = True) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if pair:
                pipe.hincrby(self.key, "tries", -1)
            if self.budget_key is not None:
                pipe.decr(self.budget_key)
            await pipe.execute()

    async def succeeded(self) -> None:
        """The right PIN: the count starts again, and the budget is of wrong tries only."""
        await self._uncount(pair=False)
        await self.redis.delete(self.key)

    async def failed(self) -> bool:
        """A wrong PIN: lock the pair after the fifth; true when this try locked the pair or
        was the first to spend the new devices' budget this hour."""
        now = self.clock.now_ms()
        _failed, locked_until = after_failure(self.tries - 1, now, self.locks)
        if locked_until is None:
            return await self._spent_first()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, mapping={"tries": 0, "locked_until": locked_until})
            pipe.hincrby(self.key, "locks", 1)
            pipe.expire(self.key, STATE_TTL_S)
            await pipe.execute()
        return True

    async def _spent_first(self) -> bool:
        """Whether this wrong try spent the budget and no other said so yet (one email)."""
        if self.budget_key is None or self.spent < MAX_NEW_DEVICE_FAILURES_PER_HOUR:
            return False
        said = f"{self.budget_key}:told"
        return bool(await self.redis.set(said, 1, nx=True, ex=HOUR_S + 1))
