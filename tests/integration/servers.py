"""Real Redis servers for the tests: the one that answers, or a private one we start."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.waiting import eventually

PORTS = range(20_000, 55_000)  # private servers stay below the ports other services use


def free_port() -> int:
    """A TCP port in ``PORTS`` nobody listens on right now."""
    for _ in range(200):
        port = random.choice(PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 55000")


def answers(url: str) -> bool:
    """Whether a Redis at ``url`` answers PING."""
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def private_redis(directory: Path, *, aof: bool = True, fsync: str = "always") -> Iterator[str]:
    """A redis-server of our own on a free port, its files in ``directory``; yields its URL."""
    with redis_server(directory, aof=aof, fsync=fsync) as server:
        yield server.url


class RedisServer:
    """A redis-server of the test's own on a fixed port, to stop and start again (with AOF,
    what it acknowledged survives)."""

    def __init__(self, directory: Path, *, aof: bool = True, fsync: str = "always") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self.argv += ["--dir", str(directory), "--save", ""]
        self.argv += ["--appendonly", "yes" if aof else "no", "--appendfsync", fsync]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        process = self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def up() -> bool:
            if answers(self.url):
                return True
            if process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited")
            return False

        eventually(up, why=f"redis-server on port {self.port} to start")

    def kill(self) -> None:
        """SIGKILL, as a crash would, and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@contextmanager
def redis_server(
    directory: Path, *, started: bool = True, aof: bool = True, fsync: str = "always"
) -> Iterator[RedisServer]:
    """A ``RedisServer`` (running unless ``started`` is false), stopped at the end."""
    server = RedisServer(directory, aof=aof, fsync=fsync)
    if started:
        server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def some_redis(directory: Path) -> Iterator[str]:
    """REDIS_URL (or the local default) when it answers, else a private server."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url):
        yield url
        return
    with private_redis(directory, aof=False) as private:
        yield private
