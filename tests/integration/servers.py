"""Real Redis servers for the tests: the one that answers, or a private one we start."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

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
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--save", "", "--appendonly", "yes" if aof else "no", "--appendfsync", fsync]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not answers(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"redis-server on port {port} did not start")
            time.sleep(0.02)
        yield url
    finally:
        process.terminate()
        process.wait(10)


class RedisServer:
    """A redis-server of the test's own on a fixed port, to stop and start again (with AOF,
    what it acknowledged survives)."""

    def __init__(self, directory: Path, *, aof: bool = True) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self.argv += ["--dir", str(directory), "--save", ""]
        self.argv += ["--appendonly", "yes" if aof else "no", "--appendfsync", "always"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not answers(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)

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
def redis_server(directory: Path, *, started: bool = True) -> Iterator[RedisServer]:
    """A ``RedisServer`` (running unless ``started`` is false), stopped at the end."""
    server = RedisServer(directory)
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
