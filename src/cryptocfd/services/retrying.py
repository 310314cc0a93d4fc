"""What a long-running consumer retries, and how long it waits between tries.

PostgreSQL and Redis go away and come back (a restart, a failover, a crash and its recovery);
a consumer that meets one of their connection errors waits, with capped exponential backoff,
and tries again, for as long as it takes. Anything else is a bug or a poisoned input: it is not
retried here, and the process dies of it (see ``services.worker``) so its supervisor restarts it
and says so.
"""

from __future__ import annotations

import asyncio
import logging
import random

from redis.exceptions import RedisError

from cryptocfd.services.backoff import Backoff
from cryptocfd.store.database import UNAVAILABLE

log = logging.getLogger(__name__)

# Any OSError, not only a server out of reach (``database.unreachable``): a consumer's calls
# go only to PostgreSQL and Redis, so an OSError there is theirs, whatever its errno.
TRANSIENT: tuple[type[BaseException], ...] = (RedisError, OSError, *UNAVAILABLE)
BACKOFF = Backoff(first_s=0.25, cap_s=10.0)


async def wait_for(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stopping`` is set; return whether it is set."""
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return False
    return True


class Retry:
    """One consumer's run of failures: each waits longer than the one before, up to the cap;
    a success starts again from the shortest wait."""

    def __init__(self, what: str, backoff: Backoff = BACKOFF, rng: random.Random | None = None):
        self.what = what
        self.backoff = backoff
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.failures = 0

    def succeeded(self) -> None:
        """The last try worked: the next failure waits the shortest time again."""
        self.failures = 0

    async def failed(self, exc: BaseException, stopping: asyncio.Event) -> bool:
        """Log ``exc`` and wait before the next try; whether ``stopping`` was set meanwhile.

        The first failure of a run is logged with its traceback, the rest in one line each.
        """
        delay = self.backoff.delay(self.failures, self.rng)
        self.failures += 1
        message = "%s failed (%s: %s); try %d in %.2g s"
        args = (self.what, type(exc).__name__, exc, self.failures + 1, delay)
        log.warning(message, *args, exc_info=exc if self.failures == 1 else None)
        return await wait_for(stopping, delay)
