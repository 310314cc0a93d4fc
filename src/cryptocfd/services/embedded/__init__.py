"""The embedded default: the configured PostgreSQL and Redis when they answer, else private ones.

``cryptocfd up`` and the tests start here. A server that answers is used as it is (the configured
database is created on it when missing). A server that does not answer is replaced by a private
one started from the machine's binaries in the state directory, and stopped again on exit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from cryptocfd.services.embedded.binaries import EmbeddedError, MissingServerError
from cryptocfd.services.embedded.postgres import resolve_postgres
from cryptocfd.services.embedded.redis import resolve_redis
from cryptocfd.settings import Settings

__all__ = ["EmbeddedError", "MissingServerError", "Services", "embedded_default"]


@dataclass(frozen=True)
class Services:
    """Where the processes find their servers, and which of them are ours."""

    database_url: str
    redis_url: str
    private_postgres: bool
    private_redis: bool


@asynccontextmanager
async def embedded_default(
    settings: Settings, *, search_path: str | None = None
) -> AsyncIterator[Services]:
    """Resolve both servers, starting private ones where needed; stop those on exit.

    ``search_path`` replaces where the server binaries are looked for (``PATH`` and Debian's
    ``/usr/lib/postgresql/*/bin`` by default).
    """
    async with AsyncExitStack() as stack:
        state = settings.state_path.absolute()
        redis_url, private_redis = await stack.enter_async_context(
            resolve_redis(settings.redis_url, state / "redis", search_path)
        )
        database_url, private_postgres = await stack.enter_async_context(
            resolve_postgres(settings.database_url, state / "postgres", search_path)
        )
        yield Services(database_url, redis_url, private_postgres, private_redis)
