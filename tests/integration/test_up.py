"""``cryptocfd up`` end to end, on private servers: it starts, serves, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
import redis.exceptions
from redis.asyncio import Redis

from cryptocfd.services.embedded.binaries import free_port


async def read_until(stream: asyncio.StreamReader, wanted: str, seen: list[str]) -> str:
    """Read lines into ``seen`` until one contains ``wanted``; return that line."""
    while True:
        raw = await asyncio.wait_for(stream.readline(), 30)
        assert raw, f"output ended before {wanted!r}:\n" + "".join(seen)
        seen.append(raw.decode())
        if wanted in seen[-1]:
            return seen[-1]


@pytest.fixture
def state_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="cryptocfd-up-"))
    directory.chmod(0o755)  # the postgres user must reach it
    yield directory / "state"
    shutil.rmtree(directory, ignore_errors=True)


async def test_up_when_nothing_answers_runs_everything_on_private_servers_until_sigterm(
    state_dir: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://127.0.0.1:{free_port()}/cryptocfd",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CRYPTOCFD_STATE_DIR": str(state_dir),
        "CRYPTOCFD_PUBLIC_URL": "http://localhost:8123",
    }
    up = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "cryptocfd.cli", "up"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert up.stdout is not None
    seen: list[str] = []
    database_url = (await read_until(up.stdout, "up: PostgreSQL private", seen)).split()[-1]
    redis_url = (await read_until(up.stdout, "up: Redis private", seen)).split()[-1]
    await read_until(up.stdout, "up: dashboard    http://localhost:8123/", seen)
    await read_until(up.stdout, "up: API explorer http://localhost:8123/docs", seen)
    await read_until(up.stdout, "engine ready", seen)

    client = Redis.from_url(redis_url)
    deadline = time.monotonic() + 10
    while await client.xlen("stream:prices") < 12:  # the feed runs and the engine reads it
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    connection = await asyncpg.connect(database_url)
    assert await connection.fetchval("SELECT current_database()") == "cryptocfd"
    await connection.close()
    up.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(up.communicate(), 30)

    output = "".join(seen) + rest.decode()
    assert up.returncode == 0, output
    assert "engine | stopped (exit code 0)" in output
    assert "feed   | stopped (exit code 0)" in output
    with pytest.raises(redis.exceptions.ConnectionError):
        await client.ping()
    await client.aclose()
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(database_url, timeout=2)
