"""``cryptocfd up`` end to end, on private servers: it starts, serves, and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.exceptions
from redis.asyncio import Redis

from cryptocfd.services.embedded.binaries import free_port
from tests.waiting import until

pytestmark = pytest.mark.slow  # the whole platform on private servers


async def read_until(
    stream: asyncio.StreamReader, wanted: str, seen: list[str], line_timeout_s: float = 30
) -> str:
    """Read lines into ``seen`` until one contains ``wanted``; return that line."""
    while True:
        raw = await asyncio.wait_for(stream.readline(), line_timeout_s)
        assert raw, f"output ended before {wanted!r}:\n" + "".join(seen)
        seen.append(raw.decode())
        if wanted in seen[-1]:
            return seen[-1]


async def start_up(env: dict[str, str]) -> asyncio.subprocess.Process:
    """``cryptocfd up`` in ``env``, its output and errors on one pipe."""
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "cryptocfd.cli", "up"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


@pytest.fixture
def state_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="cryptocfd-up-"))
    directory.chmod(0o755)  # the postgres user must reach it
    yield directory / "state"
    shutil.rmtree(directory, ignore_errors=True)


async def test_up_when_nothing_answers_runs_everything_on_private_servers_until_sigterm(
    state_dir: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CRYPTOCFD_HTTP_PORT": str(port),
        "DATABASE_URL": f"postgresql://127.0.0.1:{free_port()}/cryptocfd",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CRYPTOCFD_STATE_DIR": str(state_dir),
        "CRYPTOCFD_PUBLIC_URL": f"http://localhost:{port}",
        "CRYPTOCFD_SEED_DAYS": "0",  # the seeded first start has a test of its own
    }
    up = await start_up(env)
    try:
        assert up.stdout is not None
        seen: list[str] = []
        database_url = (await read_until(up.stdout, "up: PostgreSQL private", seen)).split()[-1]
        redis_url = (await read_until(up.stdout, "up: Redis private", seen)).split()[-1]
        await read_until(up.stdout, f"up: dashboard    http://localhost:{port}/", seen)
        await read_until(up.stdout, f"up: API explorer http://localhost:{port}/docs", seen)
        await read_until(up.stdout, "engine ready", seen)

        client = Redis.from_url(redis_url)

        async def ticking() -> bool:  # the feed runs and the engine reads it
            return await client.xlen("stream:prices") >= 12

        await until(ticking, poll_s=0.05, why="twelve ticks on stream:prices")
        connection = await asyncpg.connect(database_url)
        assert await connection.fetchval("SELECT current_database()") == "cryptocfd"
        migrated = await connection.fetchval("SELECT count(*) FROM alembic_version")
        await connection.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answers: list[httpx.Response] = []

            async def ready_answers() -> httpx.Response | None:
                with contextlib.suppress(httpx.TransportError):
                    answers.append(await http.get("/readyz"))
                    return answers[-1] if answers[-1].status_code == 200 else None
                return None

            ready = await until(
                ready_answers, 30, poll_s=0.1, why=lambda: answers[-1].text if answers else ""
            )

    finally:
        # Stop it even when an assertion above failed: it must not outlive the test.
        if up.returncode is None:
            up.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(up.communicate(), 30)

    output = "".join(seen) + rest.decode()
    assert up.returncode == 0, output
    assert migrated == 1
    assert ready.json()["checks"] == {"redis": "ok", "postgres": "ok", "engine": "ok"}
    for name in ("engine", "worker", "feed"):  # names are padded to one width
        assert re.search(rf"^{name} +\| stopped \(exit code 0\)$", output, re.M), output
    # uvicorn shuts down cleanly on SIGTERM, then re-raises the signal to exit by it.
    assert "gateway | Application shutdown complete." in output.replace('{"event": "', "")
    assert re.search(r"^gateway +\| stopped \(exit code (0|-15)\)$", output, re.M), output
    with pytest.raises(redis.exceptions.ConnectionError):
        await client.ping()
    await client.aclose()
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(database_url, timeout=2)
