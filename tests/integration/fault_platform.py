"""The whole platform as real processes, for the fault runs: a private Redis with AOF, a private
PostgreSQL cluster (so a test may crash it), a leading engine and its hot standby, a gateway on
a fixed port, the worker, and a steady feed of ticks published from the test.

The test is the supervisor here: it kills a process and starts it again itself, so it knows
exactly when each fault began and what came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cryptocfd.bus.engine_status import read_status
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.clock import WALL
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.snapshots import SnapshotHeader, SnapshotStore, parse_key
from tests.integration.engine_process import EngineProcess
from tests.integration.postgres import PrivatePostgres, private_postgres
from tests.integration.servers import RedisServer, free_port, redis_server
from tests.waiting import says, tail, until

KEY_HEX = secrets.token_hex(32)
SECRET = secrets.token_hex(32)
METRICS_TOKEN = secrets.token_urlsafe(16)
# Mid prices in ticks (two decimals): they sway a little, so closes book both gains and losses,
# and never far enough to reach a liquidation, a stop or a take-profit the load sets.
MIDS = {"BTC": 6_400_000, "ETH": 320_000}
SPREAD = {"BTC": 1_000, "ETH": 100}
TICK_EVERY_S = 0.2
Probe = Callable[[], Awaitable[bool]]


class ChildProcess:
    """A ``cryptocfd`` subcommand as a child process, logging to a file, to kill and start."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, ready: str | Probe) -> None:
        self.argv = [sys.executable, "-m", "cryptocfd.cli", *argv]
        self.env = env
        self.log = log
        self.ready = ready  # what its log says once it serves, or a probe that says so
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start it and wait until it is ready."""
        ready = self.ready
        seen = 0
        if isinstance(ready, str) and self.log.exists():
            seen = self.log.read_bytes().count(ready.encode())
        with open(self.log, "ab") as out:
            process = self.process = subprocess.Popen(  # noqa: S603 - our own command line
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

        async def up() -> bool:
            if isinstance(ready, str):
                return says(self.log, ready, process, seen + 1)
            if process.poll() is not None:
                raise RuntimeError(f"{self.argv[3]} exited:\n{tail(self.log)}")
            return await ready()

        await until(up, timeout_s, poll_s=0.02, why=lambda: f"{self.argv[3]}:\n{tail(self.log)}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not leave."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class FaultPlatform:
    """The running platform and the handles a fault needs."""

    redis: RedisServer
    postgres: PrivatePostgres
    streams: Streams
    state_dir: Path
    base_url: str
    engines: list[EngineProcess]
    gateway: ChildProcess
    worker: ChildProcess
    env: dict[str, str]
    ticking: asyncio.Event = field(default_factory=asyncio.Event)

    def client(self) -> Redis:
        """A new asyncio client of the platform's Redis (close it after use)."""
        return Redis.from_url(self.redis.url, socket_timeout=2, socket_connect_timeout=2)

    async def status(self) -> dict[str, str]:
        """The engines' status hash (empty while Redis is away)."""
        async with contextlib.aclosing(self.client()) as redis:
            try:
                return await read_status(redis, self.streams.prefix)
            except RedisError:
                return {}

    async def leader(self, timeout_s: float = 30.0) -> EngineProcess:
        """The running engine process that leads now, by the pid the status hash names."""

        async def find() -> EngineProcess | None:
            holder = (await self.status()).get("leader", "")
            for engine in self.engines:
                pid = running_pid(engine)
                if pid is not None and holder.endswith(f":{pid}"):
                    return engine
            return None

        return await until(find, timeout_s, poll_s=0.02, why="an engine to lead")

    async def snapshot_at_the_end(self) -> SnapshotHeader | None:
        """The newest valid snapshot's header, if it is of the log's last record."""
        async with contextlib.aclosing(self.client()) as redis:
            last = entries(await redis.xrevrange(self.streams.records, count=1))
        newest = next(self.snapshots().valid(), None)
        if not last or newest is None or newest.header.last_record_id != last[0][0].decode():
            return None
        return newest.header

    def standby_of(self, leader: EngineProcess) -> EngineProcess:
        """The other engine."""
        return next(engine for engine in self.engines if engine is not leader)

    async def restart_engine(self, engine: EngineProcess) -> None:
        """Start a dead engine again; another leads, so it comes up as the standby."""
        await asyncio.to_thread(engine.start, 60.0, "engine standby")

    def snapshots(self) -> SnapshotStore:
        """The engines' shared snapshot store."""
        return SnapshotStore(self.state_dir / "snapshots", parse_key(KEY_HEX))

    async def reconcile(self, wait_s: int = 60) -> subprocess.CompletedProcess[bytes]:
        """``cryptocfd reconcile``, as an operator runs it."""
        argv = [sys.executable, "-m", "cryptocfd.cli", "reconcile", "--wait", str(wait_s)]
        return await asyncio.to_thread(
            subprocess.run, argv, env=self.env, capture_output=True, check=False
        )


def running_pid(child: EngineProcess | ChildProcess) -> int | None:
    """The child's pid while it runs."""
    process = child.process
    return process.pid if process is not None and process.poll() is None else None


def alive(child: EngineProcess | ChildProcess) -> bool:
    """Whether the child runs."""
    return running_pid(child) is not None


def _environment(
    redis_url: str, database_url: str, prefix: str, state: Path, port: int
) -> dict[str, str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "CRYPTOCFD_REDIS_PREFIX": prefix,
        "CRYPTOCFD_STATE_DIR": str(state),
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_SECRET_KEY": SECRET,
        "CRYPTOCFD_SNAPSHOT_KEY": KEY_HEX,
        "CRYPTOCFD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CRYPTOCFD_RATE_PER_IP_PER_MIN": "10000000",
        "CRYPTOCFD_RATE_PER_USER_PER_MIN": "10000000",
        "CRYPTOCFD_LOGINS_PER_IP_PER_MIN": "100000",
        "CRYPTOCFD_LOGIN_LINKS_PER_IP_PER_HOUR": "100000",
        "CRYPTOCFD_ACCESS_LOG": "false",
        "CRYPTOCFD_METRICS_TOKEN": METRICS_TOKEN,
        # Snapshots every second and all of them kept: the log is never trimmed, so a check can
        # count every request in it, and the newest snapshot is the leader's state of a moment.
        "CRYPTOCFD_SNAPSHOT_EVERY_S": "1",
        "CRYPTOCFD_SNAPSHOTS_KEPT": "100000",
        "CRYPTOCFD_ENGINE_STANDBY_HASH": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SMTP_HOST", None)  # the worker logs sign-in emails instead of sending them
    return env


def _assemble(
    server: RedisServer, postgres: PrivatePostgres, state: Path, lease_ttl_ms: int
) -> FaultPlatform:
    """The platform's processes, not started yet."""
    streams = Streams(f"faults:{secrets.token_hex(4)}:")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _environment(server.url, postgres.url, streams.prefix, state, port)
    env["CRYPTOCFD_ENGINE_LEASE_TTL_MS"] = str(lease_ttl_ms)
    engine_env = {
        k: v for k, v in env.items() if k.startswith(("CRYPTOCFD_ENGINE", "CRYPTOCFD_SNAP"))
    }
    engines = [
        EngineProcess(server.url, streams.prefix, state, KEY_HEX, f"engine-{n}.log", **engine_env)
        for n in "ab"
    ]
    gateway = ChildProcess(
        ["gateway", "--port", str(port)],
        env,
        state / "gateway.log",
        lambda: answers(f"{base_url}/healthz"),
    )
    worker = ChildProcess(["worker"], env, state / "worker.log", "worker ready")
    return FaultPlatform(server, postgres, streams, state, base_url, engines, gateway, worker, env)


@contextlib.asynccontextmanager
async def fault_platform(directory: Path, lease_ttl_ms: int) -> AsyncIterator[FaultPlatform]:
    """Start everything, the feed of ticks too; stop everything at the end."""
    state = directory / "state"
    state.mkdir(parents=True)
    with redis_server(directory / "redis") as server:
        async with private_postgres() as postgres:
            platform = _assemble(server, postgres, state, lease_ttl_ms)
            leader, standby = platform.engines
            feed = asyncio.create_task(feed_ticks(platform))
            try:
                await asyncio.to_thread(leader.start, 60.0)
                await asyncio.to_thread(standby.start, 60.0, "engine standby")
                await platform.gateway.start()
                await platform.worker.start()
                ready = f"{platform.base_url}/readyz"
                await until(lambda: answers(ready), 30, poll_s=0.1, why="/readyz")
                yield platform
            finally:
                feed.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed
                platform.gateway.stop()
                platform.worker.stop()
                for engine in platform.engines:
                    if (pid := running_pid(engine)) is not None:
                        os.kill(pid, signal.SIGCONT)  # one left stopped by a failed test
                        engine.kill()


async def answers(url: str) -> bool:
    """Whether a GET of ``url`` answers 200."""
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def feed_ticks(platform: FaultPlatform) -> None:
    """Publish a tick per asset every ``TICK_EVERY_S`` while ``ticking`` is set, riding out a
    Redis that is away (the feed process does the same)."""
    platform.ticking.set()
    n = 0
    redis = platform.client()
    try:
        while True:
            await platform.ticking.wait()
            n += 1
            sway = (n % 20) - 10  # a few ticks either way
            now = WALL.now_ms()
            ticks = [
                Tick(
                    asset,
                    PriceTicks(mid + sway * SPREAD[asset] // 10),
                    PriceTicks(mid + sway * SPREAD[asset] // 10 + SPREAD[asset]),
                    now,
                )
                for asset, mid in MIDS.items()
            ]
            with contextlib.suppress(RedisError, OSError):
                await publish_ticks(redis, platform.streams, ticks)
            await asyncio.sleep(TICK_EVERY_S)
    finally:
        await redis.aclose()
