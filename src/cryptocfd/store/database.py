"""Connections to PostgreSQL: one asyncpg pool per process."""

from __future__ import annotations

import errno
import socket
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection of one's own or one borrowed from a pool: what runs statements that must share
# a transaction. The queries take either.
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
# Whatever runs a single query: a connection, a pooled connection, or the pool itself.
Db: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any] | asyncpg.Pool[Any]"

# What PostgreSQL being away looks like to a client: the server is down or restarting
# (refused, reset, timed out, "not yet accepting connections", "shutting down"), a connection
# died under us, or the pool has none to give. Waiting and trying again is the cure for each.
UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionError,  # refused, reset, aborted, a broken pipe
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,  # e.g. "connection is closed", "pool is closing"
)
# The errnos of a network that cannot reach the server, beside ConnectionError's own.
_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ETIMEDOUT}
)


def unreachable(exc: OSError) -> bool:
    """Whether ``exc`` is a server out of reach (refused, reset, no route, timed out, a name
    that did not resolve), not some other failure of the system (a missing file, a full disk).

    asyncio's ``create_connection`` raises a plain ``OSError("Multiple exceptions: ...")`` when
    each address of a host (``localhost``: ``::1`` and ``127.0.0.1``) failed differently.
    """
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    return exc.errno in _NETWORK_ERRNOS or str(exc).startswith("Multiple exceptions: ")


def asyncpg_dsn(database_url: str) -> str:
    """``database_url`` in the form asyncpg reads (it knows no ``+driver`` suffix)."""
    scheme, sep, rest = database_url.partition("://")
    return f"postgresql{sep}{rest}" if scheme.startswith("postgres") else database_url


async def create_pool(
    database_url: str,
    min_size: int = 2,
    max_size: int = 10,
    command_timeout_s: float | None = 30,
) -> asyncpg.Pool:
    """A pool of connections to ``database_url``. Statements are cut off after
    ``command_timeout_s``: a service answering requests must not hang on one; bulk work (a
    backfill's rollups over months of minutes) passes ``None``."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(database_url),
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout_s,
    )
    assert pool is not None  # create_pool returns None only when not awaited
    return pool
