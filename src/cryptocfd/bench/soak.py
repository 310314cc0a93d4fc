"""``cryptocfd bench soak``: the whole platform held under load for minutes, sample by sample.

Starts ``cryptocfd engine`` (snapshots at ``--snapshot-every-s``), ``cryptocfd gateway
--workers 2`` and ``cryptocfd worker`` on a throwaway database and key prefix, signs ``--users``
in, opens ``--clients`` websocket clients on ``prices`` and ``orders`` and keeps BTC quoted at
``--tick-rate``. Then it sends orders open-loop at ``--rate`` per second, each user opening a
position and closing it next turn (so positions do not pile up), for ``--minutes``, and every
sample period (``min(60 s, duration / 5)``) records: create-order p50/p99/max from the
scheduled send times, errors (any answer not 200), each process's RSS, Redis's
``used_memory`` and what the run's own keys hold, the journal's lag (age of the oldest record
the worker has not acknowledged, read every 0.25 s), the engine's snapshot pauses (from its
log) and this load generator's CPU use (when it nears 100 % of a core, it is the bound).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from cryptocfd.bench._common import drop_keys, report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bench._gateway_proc import ONE_ADDRESS_LOAD, running_gateway
from cryptocfd.bench._http_load import Connection, build, open_loop
from cryptocfd.bench._platform import fresh_ticks, sign_in
from cryptocfd.bench._postgres import admin, database_url
from cryptocfd.bench._procfs import children, own_cpu_s, rss_kb
from cryptocfd.bench._ws_client import Client
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.services.embedded.binaries import free_port

PAUSE = re.compile(rb"snapshot \d+ forked: the engine paused ([0-9.]+) ms")
ORDER = json.dumps({"asset": "BTC", "side": "long", "margin": "1.00", "leverage": 100}).encode()


@dataclass
class Sample:
    """What one sample period saw."""

    minute: float  # its end, in minutes into the run
    create_ms: list[float] = field(default_factory=list)
    answered: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    rss_kb: dict[str, int] = field(default_factory=dict)
    redis_used: int = 0
    prefix_bytes: int = 0
    lags_ms: list[float] = field(default_factory=list)
    pauses_ms: list[float] = field(default_factory=list)
    generator_cpu: float = 0.0  # share of one core
    prices: int = 0
    orders: int = 0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


class Orders:
    """Each user opens a position, then closes it on their next turn."""

    def __init__(self, host: str, tokens: list[str]) -> None:
        self.host = host
        self.auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
        self.creates = [build("POST", "/api/v1/trade/create", host, a, ORDER) for a in self.auth]
        self.open: list[deque[int]] = [deque() for _ in tokens]
        self.kinds: dict[int, bool] = {}  # request number -> is a create, until answered
        self.sample = Sample(0.0)
        self.offset = 0  # requests sent in the sample periods before this one

    def request(self, n: int) -> bytes:
        """This period's request ``n``: a close of the user's oldest position every other
        turn, else a create."""
        n += self.offset
        user = n % len(self.auth)
        positions = self.open[user]
        closing = bool(positions) and (n // len(self.auth)) % 2 == 1
        self.kinds[n] = not closing
        if not closing:
            return self.creates[user]
        body = json.dumps({"order_id": positions.popleft()}).encode()
        return build("POST", "/api/v1/trade/close", self.host, self.auth[user], body)

    def answered(self, n: int, status: int, body: bytes, latency_ms: float) -> None:
        """Note an answer in the current sample."""
        n += self.offset
        created = self.kinds.pop(n)
        self.sample.answered += 1
        if status != 200:
            self.sample.errors[status] = self.sample.errors.get(status, 0) + 1
            return
        if created:
            self.sample.create_ms.append(latency_ms)
            self.open[n % len(self.auth)].append(json.loads(body)["order_id"])


async def _journal_lag_ms(redis: Redis, streams: Streams) -> float:
    """The age of the oldest record the journal has not acknowledged, or 0 when none."""
    pending = await redis.xpending(streams.records, JOURNAL_GROUP)
    oldest = pending.get("min") if pending.get("pending") else None
    if oldest is None:
        groups = await redis.xinfo_groups(streams.records)
        group = next(g for g in groups if g["name"] in {JOURNAL_GROUP, JOURNAL_GROUP.encode()})
        after = group["last-delivered-id"]
        after = after.decode() if isinstance(after, bytes) else after
        unread = await redis.xrange(streams.records, min=f"({after}", count=1)
        oldest = unread[0][0] if unread else None
    if oldest is None:
        return 0.0
    text = oldest.decode() if isinstance(oldest, bytes) else str(oldest)
    return max(0.0, time.time() * 1000 - int(text.split("-")[0]))


async def _watch_lag(redis: Redis, streams: Streams, orders: Orders, stop: asyncio.Event) -> None:
    while not stop.is_set():
        orders.sample.lags_ms.append(await _journal_lag_ms(redis, streams))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


def _processes(engine: int, gateway: int, worker: int) -> dict[str, int]:
    named = {"engine": engine, "gateway": gateway, "worker": worker}
    for n, pid in enumerate(children(gateway), 1):
        named[f"gateway-{n}"] = pid
    return named


async def _prefix_bytes(redis: Redis, prefix: str) -> int:
    total = 0
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        total += await redis.memory_usage(key) or 0
    return total


async def _run(args: argparse.Namespace, redis: Redis, streams: Streams) -> list[Sample]:
    name = f"cryptocfd_bench_{secrets.token_hex(4)}"
    db_url = database_url(name)
    port = free_port()
    key = secrets.token_hex(32)
    await admin(f'CREATE DATABASE "{name}"')
    stop = asyncio.Event()
    with tempfile.TemporaryDirectory() as state:
        # The engine writes its log through its own handle, this reads it through another (a
        # shared one would share the offset, and every read would start after what it wrote).
        log_path = Path(state) / "engine.log"
        log_path.touch()
        log = log_path.open("rb")
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "CRYPTOCFD_REDIS_PREFIX": streams.prefix,
            "CRYPTOCFD_STATE_DIR": state,
            "CRYPTOCFD_SECRET_KEY": key,
            "CRYPTOCFD_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CRYPTOCFD_ACCESS_LOG": "0",
            **ONE_ADDRESS_LOAD,
            "CRYPTOCFD_RATE_PER_USER_PER_MIN": str(10**9),
            "CRYPTOCFD_LOGINS_PER_IP_PER_MIN": str(10**6),
            "CRYPTOCFD_LOGIN_LINKS_PER_IP_PER_HOUR": str(10**6),  # --users sign in at once
        }
        subprocess.run([sys.executable, "-m", "cryptocfd.cli", "migrate"], env=env, check=True)
        cadence = {
            "CRYPTOCFD_SNAPSHOT_EVERY_S": str(args.snapshot_every_s),
            "CRYPTOCFD_SNAPSHOT_EVERY_EVENTS": "100000",
        }
        redis_url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        with log_path.open("ab") as writer:  # the engine keeps its own copy of the handle
            engine, _ = start_engine(
                redis_url, streams.prefix, Path(state), secrets.token_hex(32),
                extra=cadence, log=writer,
            )  # fmt: skip
        ticker = asyncio.create_task(fresh_ticks(redis, streams, stop, 1 / args.tick_rate))
        worker: subprocess.Popen[bytes] | None = None
        gateways: list[subprocess.Popen[bytes]] = []
        try:
            async with running_gateway(env, port, args.workers, started=gateways) as base:
                tokens = await sign_in(base, db_url, key, args.users)
                worker = _start_worker(env)
                return await _soak(args, port, redis, streams, tokens, log, stop, {
                    "engine": engine.pid, "gateway": gateways[0].pid, "worker": worker.pid
                })  # fmt: skip
        finally:
            stop.set()
            await ticker
            if worker is not None:
                worker.terminate()
                worker.wait(10)
                assert worker.stdout is not None
                worker.stdout.close()
            kill_engine(engine)
            log.close()
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "cryptocfd.cli", "worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith(b"worker ready"):
            return worker
    raise RuntimeError("the worker exited before it was ready")


async def _soak(
    args: argparse.Namespace,
    port: int,
    redis: Redis,
    streams: Streams,
    tokens: list[str],
    log: IO[bytes],
    stop: asyncio.Event,
    pids: dict[str, int],
) -> list[Sample]:
    loop = asyncio.get_running_loop()
    url = f"ws://127.0.0.1:{port}/api/v1/ws"
    prices: list[float] = []
    clients: list[Client] = []
    for n in range(args.clients):
        hello = [
            json.dumps({"op": "auth", "access_token": tokens[n % len(tokens)]}),
            json.dumps({"op": "subscribe", "channels": ["prices", "orders"]}),
        ]
        _, client = await loop.create_connection(
            functools.partial(Client, url, prices, hello), "127.0.0.1", port
        )
        await client.subscribed
        clients.append(client)
    connections = [await Connection.open("127.0.0.1", port) for _ in range(args.connections)]
    orders = Orders(f"127.0.0.1:{port}", tokens)
    lag = asyncio.create_task(_watch_lag(redis, streams, orders, stop))
    duration = args.minutes * 60
    period = min(60.0, duration / 5)
    samples = []
    began = time.perf_counter()
    try:
        for _ in range(max(1, round(duration / period))):
            cpu = own_cpu_s()
            at = time.perf_counter()
            await open_loop(connections, orders.request, args.rate, period, orders.answered)
            orders.offset += int(args.rate * period)
            sample, orders.sample = orders.sample, Sample(0.0)
            sample.minute = (time.perf_counter() - began) / 60
            sample.generator_cpu = (own_cpu_s() - cpu) / (time.perf_counter() - at)
            named = _processes(pids["engine"], pids["gateway"], pids["worker"])
            sample.rss_kb = {who: rss_kb(pid) for who, pid in named.items()}
            sample.redis_used = int((await redis.info("memory"))["used_memory"])
            sample.prefix_bytes = await _prefix_bytes(redis, streams.prefix)
            sample.pauses_ms = [float(m) for m in PAUSE.findall(log.read())]
            sample.prices, sample.orders = len(prices), sum(c.orders for c in clients)
            prices.clear()
            samples.append(sample)
    finally:
        stop.set()
        await lag
        for connection in connections:
            connection.close()
        for client in clients:
            client.close()
    return samples


def _print_samples(samples: list[Sample]) -> None:
    table = Table(title="soak, per sample")
    for column in ("min", "p50 ms", "p99 ms", "max ms", "answers", "errors", "RSS MiB (all)",
                   "redis MiB", "keys MiB", "lag p99 ms", "pauses ms", "gen cpu"):  # fmt: skip
        table.add_column(column, justify="right")
    for s in samples:
        rss = f"{sum(s.rss_kb.values()) / 1024:.0f}"
        table.add_row(
            f"{s.minute:.2f}",
            f"{_percentile(s.create_ms, 0.5):.1f}",
            f"{_percentile(s.create_ms, 0.99):.1f}",
            f"{max(s.create_ms, default=0):.1f}",
            f"{s.answered:,}",
            str(sum(s.errors.values())) + (f" {s.errors}" if s.errors else ""),
            rss,
            f"{s.redis_used / 2**20:.1f}",
            f"{s.prefix_bytes / 2**20:.1f}",
            f"{_percentile(s.lags_ms, 0.99):.0f}",
            ", ".join(f"{p:.1f}" for p in s.pauses_ms),
            f"{s.generator_cpu:.0%}",
        )
    console = Console(width=150)  # a log is wider than a terminal's default guess
    console.print(table)
    memory = Table(title="RSS MiB, per process and sample")
    memory.add_column("process")
    for s in samples:
        memory.add_column(f"{s.minute:.2f}", justify="right")
    for who in samples[-1].rss_kb:
        memory.add_row(who, *(f"{s.rss_kb.get(who, 0) / 1024:.1f}" for s in samples))
    console.print(memory)


def _headline(samples: list[Sample], seconds: float) -> dict[str, list[float]]:
    every = [ms for s in samples for ms in s.create_ms]
    second, last = samples[min(1, len(samples) - 1)], samples[-1]
    growth = [(last.rss_kb.get(who, 0) - kb) / kb * 100 for who, kb in second.rss_kb.items() if kb]
    lags = [ms for s in samples for ms in s.lags_ms]
    pauses = [ms for s in samples for ms in s.pauses_ms]
    figures = {
        "orders_per_s": sum(s.answered for s in samples) / seconds,
        "p50_ms": _percentile(every, 0.5),
        "p99_ms": _percentile(every, 0.99),
        "max_ms": max(every, default=0.0),
        "errors": float(sum(sum(s.errors.values()) for s in samples)),
        "samples": float(len(samples)),
        "rss_min_mb": min(kb for s in samples for kb in s.rss_kb.values()) / 1024,
        "rss_growth_pct": max(growth, default=0.0),
        "redis_used_max_mb": max(s.redis_used for s in samples) / 2**20,
        "redis_prefix_max_mb": max(s.prefix_bytes for s in samples) / 2**20,
        "journal_lag_p99_ms": _percentile(lags, 0.99),
        "snapshots": float(len(pauses)),
        "snapshot_pause_max_ms": max(pauses, default=0.0),
        "generator_cpu_pct": statistics.mean(s.generator_cpu for s in samples) * 100,
        "ws_prices": float(sum(s.prices for s in samples)),
        "ws_orders": float(samples[-1].orders),
    }
    return {name: [round(value, 3)] for name, value in figures.items()}


def _plot(path: Path, samples: list[Sample], title: str) -> None:
    from cryptocfd.bench._soak_plot import plot  # noqa: PLC0415 - matplotlib only if asked

    latency = {
        name: [_percentile(s.create_ms, share) for s in samples]
        for name, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))
    }
    memory = {who: [s.rss_kb.get(who, 0) / 1024 for s in samples] for who in samples[-1].rss_kb}
    memory["redis used_memory"] = [s.redis_used / 2**20 for s in samples]
    plot(path, [s.minute for s in samples], latency, memory, title)


def main(argv: list[str]) -> int:
    """Run the soak and print each sample, then the summary and the JSON line."""
    parser = argparse.ArgumentParser(prog="cryptocfd bench soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=500, help="orders per second, open loop")
    parser.add_argument("--clients", type=int, default=1_000, help="websocket clients")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--connections", type=int, default=64, help="HTTP keep-alive")
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    parser.add_argument("--tick-rate", type=float, default=4.0, help="BTC ticks per second")
    parser.add_argument("--snapshot-every-s", type=float, default=60.0)
    parser.add_argument("--plot", default="docs/soak.png", help="PNG path, or 'none'")
    args = parser.parse_args(argv)
    streams = Streams(f"bench-soak-{secrets.token_hex(4)}:")

    async def run() -> list[Sample]:
        redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        try:
            return await _run(args, redis, streams)
        finally:
            await drop_keys(redis, streams.prefix)
            await redis.aclose()

    samples = asyncio.run(run())
    _print_samples(samples)
    title = (
        f"soak: {args.rate}/s orders, {args.clients:,} websocket clients, "
        f"{args.minutes:g} min, {args.workers} gateway workers"
    )
    if args.plot != "none":
        _plot(Path(args.plot), samples, title)
    report(
        title,
        _headline(samples, samples[-1].minute * 60),
        {
            "errors": "0",
            "rss_growth_pct": "< 5 after the second sample",
            "journal_lag_p99_ms": "< 1,000",
        },
    )
    return 0
