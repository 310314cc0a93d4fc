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
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.exceptions
from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD, Record, encode
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.services.embedded.binaries import free_port
from cryptocfd.settings import load_settings
from cryptocfd.store.keyfiles import server_key
from cryptocfd.trading.rejections import RejectCode, Rejection
from tests.integration.gateway_harness import newest_link, spend_link
from tests.integration.servers import redis_server
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
    # Two engines by default: one leads, the other is its hot standby.
    assert re.search(r"^engine2 \| stopped \(exit code 0\)$", output, re.M), output
    assert re.search(r"^engine2? +\| engine standby \(leader 1:engine-1\)", output, re.M), output
    assert ready.headers["x-engine-epoch"] == "1"
    # uvicorn shuts down cleanly on SIGTERM, then re-raises the signal to exit by it.
    assert "gateway | Application shutdown complete." in output.replace('{"event": "', "")
    assert re.search(r"^gateway +\| stopped \(exit code (0|-15)\)$", output, re.M), output
    with pytest.raises(redis.exceptions.ConnectionError):
        await client.ping()
    await client.aclose()
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(database_url, timeout=2)


async def test_up_when_the_engine_cannot_recover_keeps_retrying_it_and_serves_the_rest(
    state_dir: Path, own_database_url: str
) -> None:
    # Every snapshot unreadable and a log that was trimmed: the engine refuses (exit 3) each
    # time it is started. Everything else must stay up, and say so.
    snapshots = state_dir / "snapshots"
    snapshots.mkdir(parents=True)
    (snapshots / "snapshot-000000000001.snap").write_bytes(b"corrupt" * 100)
    refused = Rejection(RejectCode.UNKNOWN_ACCOUNT, "no such account")
    port = free_port()
    with redis_server(state_dir.parent / "redis") as server:
        setup = Redis.from_url(server.url)
        records = Streams("").records
        for n in range(2):
            await setup.xadd(
                records, {FIELD: encode(Record("command", f"r{n}", 0, refused, applied=False))}
            )
        newest = entries(await setup.xrevrange(records, count=1))[0][0]
        await setup.xtrim(records, minid=newest, approximate=False)
        await setup.aclose()
        env = {
            **os.environ,
            "CRYPTOCFD_HTTP_PORT": str(port),
            "DATABASE_URL": own_database_url,
            "REDIS_URL": server.url,
            "CRYPTOCFD_STATE_DIR": str(state_dir),
            "CRYPTOCFD_PUBLIC_URL": f"http://localhost:{port}",
            "CRYPTOCFD_SEED_DAYS": "0",
        }
        up = await start_up(env)
        seen: list[str] = []
        try:
            assert up.stdout is not None
            await read_until(up.stdout, "up: dashboard", seen)
            reading = asyncio.create_task(read_all(up.stdout, seen))
            email = f"while-down-{uuid.uuid4().hex[:8]}@example.com"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
                ready = await until_said(http, "engine down (exit code 3")
                markets = await http.get("/api/v1/markets")
                assets = await http.get("/api/v1/supportedAssets")
                login = await http.post("/api/v1/auth/login", json={"email": email})
                key = server_key(load_settings(env))
                verify = await spend_link(http, await newest_link(own_database_url, email, key))
        finally:
            if up.returncode is None:
                up.send_signal(signal.SIGTERM)
            await asyncio.wait_for(up.wait(), 30)
        await asyncio.wait_for(reading, 10)
    output = "".join(seen)

    assert up.returncode == 0, output
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] == "ok"
    assert ready.json()["checks"]["postgres"] == "ok"
    assert ready.json()["checks"]["engine"].startswith("unavailable")
    assert markets.status_code == 200, markets.text
    assert assets.status_code == 200, assets.text
    assert login.status_code == 202, login.text
    assert verify.status_code == 503, verify.text  # opening the new account needs the engine
    assert verify.json()["error"]["code"] == "ENGINE_UNAVAILABLE"
    assert output.count("engine  | exited with code 3; restarting in") >= 2, output
    assert "has been trimmed" in output
    assert "GIVING UP" not in output
    for name in ("gateway", "worker", "feed"):
        assert not re.search(rf"^{name} +\| exited", output, re.M), output


async def read_all(stream: asyncio.StreamReader, seen: list[str]) -> None:
    while raw := await stream.readline():
        seen.append(raw.decode())


async def until_said(http: httpx.AsyncClient, words: str, timeout_s: float = 60) -> httpx.Response:
    """Poll ``/readyz`` until its processes check says ``words``; that answer."""

    async def said() -> httpx.Response | None:
        try:
            ready = await http.get("/readyz")
        except httpx.TransportError:
            return None
        return ready if words in ready.json().get("checks", {}).get("processes", "") else None

    answer: httpx.Response = await until(
        said, timeout_s, poll_s=0.2, why=f"the supervisor to say {words}"
    )
    return answer
