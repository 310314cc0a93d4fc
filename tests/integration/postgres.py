"""A PostgreSQL database of the test run's own: created, migrated, and dropped afterwards.

The server is found the way ``cryptocfd up`` finds it: the one ``DATABASE_URL`` names (by
default the machine's, on 127.0.0.1:5432) when it answers, else a private one started from the
machine's binaries for this test process. Each run gets a fresh database on it, so tests never
see a session's leftovers.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg

from cryptocfd.services.embedded.binaries import EmbeddedError
from cryptocfd.services.embedded.postgres import (
    DEFAULT_USER,
    Cluster,
    create_database,
    resolve_postgres,
)
from cryptocfd.store.database import asyncpg_dsn
from cryptocfd.store.migrate import upgrade
from tests.integration.servers import free_port

CONFIGURED_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_resolved: list[str] = []


def _hold_server(box: dict[str, object], ready: threading.Event) -> None:
    """Resolve the server in a thread of its own and keep a private one running until exit."""
    directory = Path(tempfile.mkdtemp(prefix="cryptocfd-test-pg-"))
    directory.chmod(0o755)  # the postgres user must reach it when we run as root
    stop = threading.Event()
    box["stop"] = stop

    async def hold() -> None:
        async with resolve_postgres(CONFIGURED_URL, directory / "postgres", None) as (url, _):
            box["url"] = url
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.2)

    try:
        asyncio.run(hold())
    except BaseException as exc:  # noqa: BLE001 - handed to the test process below
        box["error"] = exc
        ready.set()


def server_url() -> str:
    """The URL of the server the tests use, resolved once per test process."""
    if not _resolved:
        box: dict[str, object] = {}
        ready = threading.Event()
        holder = threading.Thread(target=_hold_server, args=(box, ready), daemon=True)
        holder.start()
        ready.wait(180)

        def stop_server() -> None:  # a private server stops with the test process
            stop = box.get("stop")
            if isinstance(stop, threading.Event):
                stop.set()
                holder.join(60)

        atexit.register(stop_server)
        error = box.get("error")
        if isinstance(error, BaseException):
            raise error
        _resolved.append(str(box["url"]))
    return _resolved[0]


def _with_database(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(_with_database(server_url(), "postgres")))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, migrated database; it is dropped when the block ends."""
    name = f"cryptocfd_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url(), name)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PrivatePostgres:
    """A PostgreSQL cluster of one test's own on a fixed port, which the test may crash
    (``pg_ctl -m immediate``) and start again on the same port."""

    def __init__(self, directory: Path, port: int) -> None:
        self.cluster = Cluster(directory, None, user=DEFAULT_USER, password="")
        self.port = port
        self.url = f"postgresql://{DEFAULT_USER}@127.0.0.1:{port}/cryptocfd"

    async def start(self) -> None:
        """Start the server (initdb the first time) and wait until it accepts connections."""
        await self.cluster.prepare()
        await self.cluster.start(self.port)

    async def start_refusing(self) -> None:
        """Start the server as a standby that admits nobody: every connection is refused with
        "the database system is not accepting connections", as while it recovers from a crash
        (that window is too short to hit on purpose). ``stop`` then ``start`` end it."""
        (self.cluster.data / "standby.signal").touch()
        await self.cluster.start(self.port, "hot_standby=off")
        (self.cluster.data / "standby.signal").unlink()

    async def crash(self) -> None:
        """Stop the server as a crash would: no checkpoint, every connection cut."""
        await self.cluster.stop(mode="immediate")

    async def stop(self) -> None:
        """A clean stop."""
        await self.cluster.stop()


@contextlib.asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A private, migrated cluster with a ``cryptocfd`` database; stopped and deleted after."""
    directory = Path(tempfile.mkdtemp(prefix="cryptocfd-test-pg-"))
    directory.chmod(0o755)  # the postgres user must reach it when we run as root
    server = PrivatePostgres(directory / "postgres", free_port())
    try:
        await server.start()
        await create_database(server.url)
        await asyncio.to_thread(upgrade, server.url)
        yield server
    finally:
        with contextlib.suppress(EmbeddedError):
            await server.stop()
        shutil.rmtree(directory, ignore_errors=True)
