"""The embedded default: servers that answer are used, missing ones are started privately."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.exceptions
from redis.asyncio import Redis

from cryptocfd.services.embedded import EmbeddedError, MissingServerError, embedded_default
from cryptocfd.services.embedded.binaries import free_port
from cryptocfd.settings import Settings

pytestmark = pytest.mark.slow  # private PostgreSQL and Redis servers, started and stopped


@pytest.fixture(scope="module")
def state_root() -> Iterator[Path]:
    """A directory the postgres user can reach (pytest's own tmp dirs are private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="cryptocfd-embedded-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def nobody_answers(state_dir: Path, database: str = "cryptocfd_embedded") -> Settings:
    """Settings whose URLs point at ports nobody listens on."""
    return Settings(
        database_url=f"postgresql://127.0.0.1:{free_port()}/{database}",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        state_dir=str(state_dir),
    )


async def postgres_answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=2)
    except OSError:
        return False
    await connection.close()
    return True


async def redis_answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except redis.exceptions.ConnectionError:
        return False
    finally:
        await client.aclose()


async def test_embedded_default_when_nothing_answers_starts_private_servers_and_stops_them(
    state_root: Path,
) -> None:
    settings = nobody_answers(state_root / "state")

    async with embedded_default(settings) as services:
        assert services.private_postgres and services.private_redis
        assert services.database_url != settings.database_url
        connection = await asyncpg.connect(services.database_url)
        assert await connection.fetchval("SELECT current_database()") == "cryptocfd_embedded"
        assert await connection.fetchval("SELECT 6 * 7") == 42
        await connection.close()
        client = Redis.from_url(services.redis_url, decode_responses=True)
        assert await client.set("answer", "42")
        assert await client.config_get("appendonly") == {"appendonly": "yes"}
        assert await client.config_get("appendfsync") == {"appendfsync": "everysec"}
        await client.aclose()

    assert (state_root / "state" / "postgres" / "data" / "PG_VERSION").exists()
    assert (state_root / "state" / "redis" / "appendonlydir").is_dir()
    assert not await postgres_answers(services.database_url)
    assert not await redis_answers(services.redis_url)


async def test_embedded_default_when_started_again_keeps_the_data_of_the_last_run(
    state_root: Path,
) -> None:
    settings = nobody_answers(state_root / "state")
    async with embedded_default(settings) as first:
        connection = await asyncpg.connect(first.database_url)
        await connection.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        await connection.close()
        client = Redis.from_url(first.redis_url)
        await client.set("kept", "7")
        await client.aclose()

    async with embedded_default(nobody_answers(state_root / "state")) as second:
        connection = await asyncpg.connect(second.database_url)
        assert await connection.fetchval("SELECT n FROM kept") == 7
        await connection.close()
        client = Redis.from_url(second.redis_url)
        assert await client.get("kept") == b"7"  # from the AOF
        await client.aclose()


LEAVE_SERVERS_RUNNING = """
import asyncio, os, sys
from cryptocfd.services.embedded import embedded_default
from cryptocfd.settings import Settings

async def main():
    async with embedded_default(Settings(database_url=sys.argv[1], redis_url=sys.argv[2],
                                         state_dir=sys.argv[3])) as services:
        print(services.database_url, services.redis_url, flush=True)
        await asyncio.sleep(60)  # holds the servers until the test kills this process

asyncio.run(main())
"""


async def test_embedded_default_when_a_killed_run_left_servers_running_adopts_and_stops_them(
    state_root: Path,
) -> None:
    settings = nobody_answers(state_root / "state")
    argv = [sys.executable, "-c", LEAVE_SERVERS_RUNNING, settings.database_url]
    argv += [settings.redis_url, settings.state_dir]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as killed:  # noqa: S603
        assert killed.stdout is not None
        left_postgres, left_redis = killed.stdout.readline().split()
        killed.send_signal(signal.SIGKILL)
    assert await postgres_answers(left_postgres) and await redis_answers(left_redis)

    async with embedded_default(settings) as services:
        assert (services.database_url, services.redis_url) == (left_postgres, left_redis)

    assert not await postgres_answers(left_postgres)
    assert not await redis_answers(left_redis)


async def test_embedded_default_when_the_servers_answer_uses_them_and_creates_the_database(
    state_root: Path,
) -> None:
    configured = Settings(
        database_url=os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/postgres"),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        state_dir=str(state_root / "answering"),
    )
    async with embedded_default(configured) as answering:  # the machine's, else private ones
        name = f"cryptocfd_test_{uuid.uuid4().hex[:12]}"
        base, _, _ = answering.database_url.rpartition("/")
        settings = Settings(
            database_url=f"{base}/{name}",
            redis_url=answering.redis_url,
            state_dir=str(state_root / "unused"),
        )
        try:
            async with embedded_default(settings) as services:
                assert not services.private_postgres and not services.private_redis
                assert services.database_url == settings.database_url
                assert services.redis_url == answering.redis_url
                connection = await asyncpg.connect(services.database_url)
                assert await connection.fetchval("SELECT current_database()") == name
                await connection.close()
        finally:
            admin = await asyncpg.connect(f"{base}/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.close()
    assert not (state_root / "unused").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts PostgreSQL as another user")
async def test_embedded_default_when_root_keeps_the_state_dir_from_postgres_says_how_to_fix_it(
    state_root: Path,
) -> None:
    hidden = state_root / "root-only"
    hidden.mkdir(mode=0o700)
    settings = nobody_answers(hidden / "state")

    with pytest.raises(EmbeddedError, match=r"chmod o\+x\) or set CRYPTOCFD_STATE_DIR"):
        async with embedded_default(settings) as _:
            pytest.fail("PostgreSQL cannot have started")
    assert not await redis_answers(f"redis://127.0.0.1:{read_port(hidden)}/0")


def read_port(state_root: Path) -> int:
    return int((state_root / "state" / "redis" / "port").read_text())


async def test_embedded_default_when_no_server_binaries_are_installed_says_what_to_install(
    state_root: Path,
) -> None:
    empty = state_root / "no-binaries"
    empty.mkdir()

    with pytest.raises(MissingServerError, match=r"apt-get install postgresql redis-server"):
        async with embedded_default(
            nobody_answers(state_root / "never"), search_path=str(empty)
        ) as _:
            pytest.fail("no server can have started")
