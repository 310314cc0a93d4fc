"""``cryptocfd bench failover``: a leader killed under load on a big state, and its hot
standby taking over.

``--accounts`` accounts and ``--positions`` open positions are built in-process with the real
engine (``_big_state``) and written as the newest snapshot of a state directory; two real
engine processes restore it, on the Redis at ``REDIS_URL`` under a throwaway key prefix: a
leader, and a standby following its records. Once the standby reports it follows, commands go
to the leader open loop at ``--rate`` a second for ``--seconds`` (deposits, small market orders
and closes of seeded positions across the accounts, with the three assets ticking four times a
second as a feed would keep them), while the standby's reported lag is sampled. Then the
leader is SIGKILLed, at a moment drawn at random within a renewal round of its lease,
and a deposit sent at once. Figures, each run's and their medians:

- ``takeover_ms``: from the kill until that deposit's reply, from the standby now leading (the
  lease's time to live, ``--ttl-ms``, is most of it);
- ``lease_left_ms``: the time the dead leader's lease still had to live at the kill (the
  standby takes it at its next try after that, at most a third of the TTL later);
- ``standby_ready_ms``: from the kill until the standby said it leads (lease taken, log caught
  up, pending inputs claimed): the rest of ``takeover_ms`` is serving the first batch;
- ``standby_lag_records`` and ``standby_lag_max``: the p99 and the most of the records the
  standby reported it had yet to apply under that load (it reports every third of the TTL);
- ``reply_p99_ms``: the commands' round trips under that load;
- ``leader_rss_mb`` and ``standby_rss_mb``: the engines' resident memory at the end of the load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bench._big_state import ASSETS, build, write_snapshot
from cryptocfd.bench._common import drop_keys, report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.engine_status import read_status
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.tick import Tick
from cryptocfd.services.engine.lease import lease_key
from cryptocfd.trading.commands import ClosePosition, Command, Deposit, PlaceOrder, Side
from cryptocfd.trading.events import Accepted

SAMPLE_S = 0.05
TICK_EVERY_S = 0.25
SEND_EVERY_S = 0.002  # the open loop sends what is due this often
SPREAD = 7_919  # a prime: consecutive commands land on accounts far apart
FOLLOWING_TIMEOUT_S = 60.0


@dataclass
class Load:
    """What the load saw: round trips, outcomes, the standby's reports, the engines' memory."""

    replies_ms: list[float] = field(default_factory=list)
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    lags: list[int] = field(default_factory=list)
    rss_mb: dict[int, float] = field(default_factory=dict)


def command(n: int, now: int, accounts: int, positions: int) -> Command:
    """The ``n``-th command of the load: two deposits, two small market orders, one close of a
    seeded position (position ``k + 1`` is account ``1 + k % accounts``'s) in every five."""
    account = 1 + (n * SPREAD) % accounts
    kind = n % 5
    if kind == 4 and positions:
        k = (n // 5 * SPREAD) % positions
        return ClosePosition(f"c{n}", now, 1 + k % accounts, k + 1)
    if kind in (2, 3):
        side = Side.LONG if kind == 2 else Side.SHORT
        return PlaceOrder(f"o{n}", now, account, tuple(ASSETS)[n % 3], side, 1_000, 2)
    return Deposit(f"d{n}", now, account, 100)


async def ticks(redis: Redis, streams: Streams, stop: asyncio.Event) -> None:
    """Keep every asset quoted and fresh (the engine refuses opens on a stale price)."""
    step = 0
    while not stop.is_set():
        now = int(time.time() * 1000)
        moved = [
            Tick(asset, bid + (step % 20 - 10) * (bid // 100_000), bid + bid // 10_000, now)
            for asset, bid in ASSETS.items()
        ]
        await publish_ticks(redis, streams, moved, maxlen=10_000)
        step += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_EVERY_S)


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def sample(
    redis: Redis, prefix: str, pids: list[int], load: Load, stop: asyncio.Event
) -> None:
    """Record each of the standby's lag reports once (by its time), and the engines' memory."""
    seen = None
    while not stop.is_set():
        status = await read_status(redis, prefix)
        if "standby_lag" in status and status.get("standby_seen_ms") != seen:
            seen = status.get("standby_seen_ms")
            load.lags.append(int(status["standby_lag"]))
        load.rss_mb.update({pid: max(load.rss_mb.get(pid, 0.0), rss_mb(pid)) for pid in pids})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_S)


async def following(redis: Redis, prefix: str) -> None:
    """Wait until the standby has reported where it is: it follows the leader's records."""
    deadline = time.monotonic() + FOLLOWING_TIMEOUT_S
    while "standby_seen_ms" not in await read_status(redis, prefix):
        if time.monotonic() > deadline:
            raise RuntimeError("the standby never reported that it follows")
        await asyncio.sleep(SAMPLE_S)


async def open_loop(client: EngineClient, args: argparse.Namespace, load: Load) -> None:
    """Send ``rate`` commands a second for ``seconds``, each when due whatever the replies."""

    async def one(cmd: Command) -> None:
        sent = time.perf_counter()
        outcome = await client.send(cmd)
        load.replies_ms.append((time.perf_counter() - sent) * 1000)
        if isinstance(outcome, Accepted):
            load.accepted += 1
        else:
            load.rejected[outcome.code] = load.rejected.get(outcome.code, 0) + 1

    total = args.rate * args.seconds
    started = time.perf_counter()
    replies: list[asyncio.Task[None]] = []
    while len(replies) < total:
        due = min(total, int((time.perf_counter() - started) * args.rate) + 1)
        now = int(time.time() * 1000)
        for n in range(len(replies), due):
            cmd = command(n, now, args.accounts, args.positions)
            replies.append(asyncio.create_task(one(cmd)))
        await asyncio.sleep(SEND_EVERY_S)
    await asyncio.gather(*replies)


class ReadyLine:
    """When (``perf_counter``) an engine said it is serving, read from its output by a thread."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.said = threading.Event()
        self.at = 0.0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Once the process has exited: let the reader finish, then close the pipe it read."""
        self._reader.join()
        assert self.process.stdout is not None
        self.process.stdout.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(b"engine ready") and not self.said.is_set():
                self.at = time.perf_counter()
                self.said.set()


def p99(values: list[float]) -> float:
    """The 99th percentile (the one value there is, with one; -1 with none)."""
    if len(values) < 2:
        return values[0] if values else -1.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


@contextlib.contextmanager
def two_engines(
    redis_url: str, prefix: str, state: Path, key: str, ttl_ms: int
) -> Iterator[tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], ReadyLine]]:
    """A leader, then its standby once the leader serves; both killed and their pipes closed
    after, whatever happened."""
    ttl = {"CRYPTOCFD_ENGINE_LEASE_TTL_MS": str(ttl_ms)}
    leader, _ = start_engine(redis_url, prefix, state, key, extra=ttl)
    standby: subprocess.Popen[bytes] | None = None
    ready: ReadyLine | None = None
    try:
        standby, _ = start_engine(redis_url, prefix, state, key, b"engine standby", ttl)
        ready = ReadyLine(standby)
        yield leader, standby, ready
    finally:
        for engine in (leader, standby):
            if engine is not None and engine.poll() is None:
                os.killpg(engine.pid, signal.SIGKILL)
                engine.wait()
        if ready is not None:
            ready.close()
        for engine in (leader, standby):
            if engine is not None and engine.stdout is not None:
                engine.stdout.close()


async def loaded(
    client: EngineClient, redis: Redis, prefix: str, pids: list[int], args: argparse.Namespace
) -> Load:
    """Once the standby follows, the open loop's load, with the standby's reports sampled."""
    load = Load()
    await following(redis, prefix)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(redis, prefix, pids, load, stop))
    await open_loop(client, args, load)
    stop.set()
    await sampler
    return load


async def take_over(
    client: EngineClient,
    redis: Redis,
    prefix: str,
    leader: subprocess.Popen[bytes],
    ready: ReadyLine,
    ttl_ms: int,
) -> dict[str, float]:
    """Kill the leader and time a deposit's reply, the lease it left and the standby's word."""
    # A crash comes at any moment of the lease's renewal round. Without this pause the kill
    # would fall at one fixed point of it: the load starts at a standby report and lasts a
    # whole number of rounds, and the takeover would always take the same time.
    await asyncio.sleep(secrets.randbelow(ttl_ms // 3 + 1) / 1000)
    kill_engine(leader)
    killed = time.perf_counter()
    left_ms = await redis.pttl(lease_key(prefix))
    outcome = await client.send(Deposit("after", int(time.time() * 1000), 1, 100))
    took_ms = (time.perf_counter() - killed) * 1000
    assert isinstance(outcome, Accepted), outcome
    assert ready.said.wait(FOLLOWING_TIMEOUT_S), "the standby never said it leads"
    return {
        "takeover_ms": took_ms,
        "lease_left_ms": float(left_ms),
        "standby_ready_ms": (ready.at - killed) * 1000,
    }


async def one_run(args: argparse.Namespace, seeded: Path, key: str) -> dict[str, float]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    streams = Streams(f"bench-failover-{secrets.token_hex(4)}:")
    redis = Redis.from_url(redis_url)
    try:
        with tempfile.TemporaryDirectory() as state:
            shutil.copytree(seeded / "snapshots", Path(state) / "snapshots")
            engines = two_engines(redis_url, streams.prefix, Path(state), key, args.ttl_ms)
            with engines as (leader, standby, ready):
                client = EngineClient(redis, streams, timeout_s=30)
                await client.start()
                stop = asyncio.Event()
                ticker = asyncio.create_task(ticks(redis, streams, stop))
                try:
                    pids = [leader.pid, standby.pid]
                    load = await loaded(client, redis, streams.prefix, pids, args)
                    figures = await take_over(
                        client, redis, streams.prefix, leader, ready, args.ttl_ms
                    )
                finally:
                    stop.set()
                    await ticker
                    await client.close()
    finally:
        await drop_keys(redis, streams.prefix)
        await redis.aclose()
    print(
        f"run: {load.accepted:,} accepted, rejected {load.rejected or 'none'}; "
        f"{len(load.lags)} lag reports {load.lags}",
        flush=True,
    )
    return {
        **figures,
        "standby_lag_records": p99([float(lag) for lag in load.lags]),
        "standby_lag_max": float(max(load.lags, default=-1)),
        "reply_p99_ms": p99(load.replies_ms),
        "leader_rss_mb": load.rss_mb.get(leader.pid, 0.0),
        "standby_rss_mb": load.rss_mb.get(standby.pid, 0.0),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cryptocfd bench failover")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1_000, help="commands a second, open loop")
    parser.add_argument("--seconds", type=int, default=10, help="how long the load runs")
    parser.add_argument("--ttl-ms", type=int, default=2_000, help="the lease's time to live")
    args = parser.parse_args(argv)
    key = secrets.token_hex(32)
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as seeded:
        started = time.perf_counter()
        print(f"building {args.accounts:,} accounts and {args.positions:,} positions...")
        engine = build(args.accounts, args.positions, int(time.time() * 1000))
        write_snapshot(Path(seeded), key, engine, "0-0")  # the runs' streams start empty
        del engine
        print(f"seeded in {time.perf_counter() - started:,.1f} s", flush=True)
        for _ in range(args.runs):
            for name, value in asyncio.run(one_run(args, Path(seeded), key)).items():
                figures.setdefault(name, []).append(value)
    report(
        "failover",
        figures,
        {
            "takeover_ms": f"< 3,000 (TTL {args.ttl_ms:,} ms)",
            "standby_lag_records": f"< 1,000 (p99, at {args.rate:,}/s)",
        },
    )
    return 0
