"""A PostgreSQL database of the test run's own: created, migrated, and dropped afterwards.

The server is the one ``DATABASE_URL`` names (by default the machine's, on 127.0.0.1:5432);
each run gets a fresh database on it, so tests never see a session's leftovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import asyncpg

from cryptocfd.store.database import asyncpg_dsn
from cryptocfd.store.migrate import upgrade

SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(_with_database(SERVER_URL, "postgres")))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, migrated database; it is dropped when the block ends."""
    name = f"cryptocfd_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(SERVER_URL, name)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
