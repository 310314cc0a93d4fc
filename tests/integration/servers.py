"""Real Redis servers for the tests: the one that answers, or a private one we start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.waiting import eventually


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """Whether a Redis at ``url`` answers PING."""
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def private_redis(directory: Path, *, aof: bool = True, fsync: str = "always") -> Iterator[str]:
    """A redis-server of our own on a free port, its files in ``directory``; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--save", "", "--appendonly", "yes" if aof else "no", "--appendfsync", fsync]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"

    def up() -> bool:
        if answers(url):
            return True
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited")
        return False

    try:
        eventually(up, why=f"redis-server on port {port} to start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def some_redis(directory: Path) -> Iterator[str]:
    """REDIS_URL (or the local default) when it answers, else a private server."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url):
        yield url
        return
    with private_redis(directory, aof=False) as private:
        yield private
