"""Redis: the configured one when it answers PING, else a private ``redis-server`` with AOF on.

The private server is daemonized in ``<state_dir>/redis`` on a free port. Its port is written
beside its data, so a server left behind by an ``up`` that was killed is found and reused rather
than started twice on the same files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis.exceptions
from redis.asyncio import Redis

from cryptocfd.services.embedded.binaries import EmbeddedError, find, free_port, log_tail, run

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=host))


async def _ping(url: str) -> bool:
    """Whether a Redis at ``url`` answers; a server that refuses our credentials is an error."""
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(await client.ping())
    except redis.exceptions.AuthenticationError as exc:
        raise EmbeddedError(f"Redis at {_redact(url)} refused the credentials: {exc}") from exc
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return False
    finally:
        await client.aclose()


async def _serves_dir(url: str, directory: Path) -> bool:
    """Whether the Redis at ``url`` is the private one whose files are in ``directory``."""
    if not await _ping(url):
        return False
    client = Redis.from_url(url, socket_timeout=2, decode_responses=True)
    try:
        config = await client.config_get("dir")
    finally:
        await client.aclose()
    return Path(str(config.get("dir", ""))).resolve() == directory.resolve()


def _url_on_port(configured: str, port: int) -> str:
    """The configured URL's database number, on the private server's port."""
    path = urlsplit(configured).path or "/0"
    return f"redis://127.0.0.1:{port}{path}"


async def _start(configured: str, directory: Path, search_path: str | None) -> str:
    binary = find("redis-server", search_path, wanted_for=f"Redis at {_redact(configured)}")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    argv += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    argv += ["--daemonize", "yes", "--pidfile", str(directory / "redis.pid")]
    argv += ["--logfile", str(directory / "redis.log")]
    await run(argv, what="redis-server")
    url = _url_on_port(configured, port)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not await _ping(url):
        if time.monotonic() > deadline:
            tail = log_tail(directory / "redis.log")
            raise EmbeddedError(f"the private redis-server did not answer on {port}:\n{tail}")
        await asyncio.sleep(0.05)
    (directory / "port").write_text(f"{port}\n")
    return url


async def _leftover(configured: str, directory: Path) -> str | None:
    """The URL of a private server an earlier run left running on these files, if any."""
    try:
        port = int((directory / "port").read_text())
    except (OSError, ValueError):
        return None
    url = _url_on_port(configured, port)
    return url if await _serves_dir(url, directory) else None


async def stop_private_redis(url: str) -> None:
    """Shut a private server down (its AOF is flushed) and wait until it is gone."""
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        await client.shutdown()
    except (redis.exceptions.ConnectionError, OSError):
        return  # already gone
    finally:
        await client.aclose()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while await _ping(url):
        if time.monotonic() > deadline:
            raise EmbeddedError(f"the private Redis at {url} did not stop")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def resolve_redis(
    configured: str, directory: Path, search_path: str | None
) -> AsyncIterator[tuple[str, bool]]:
    """Yield ``(url, private)``: the configured Redis if it answers, else a private one."""
    if await _ping(configured):
        yield configured, False
        return
    url = await _leftover(configured, directory) or await _start(configured, directory, search_path)
    try:
        yield url, True
    finally:
        await stop_private_redis(url)
