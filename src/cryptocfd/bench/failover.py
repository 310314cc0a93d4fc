"""``cryptocfd bench failover``: a leader killed under load, and its hot standby taking over.

Two real engine processes on the Redis at ``REDIS_URL`` (the local one by default) under a
throwaway key prefix: a leader and a standby following its records. While ``--count`` deposits
go through the leader with up to ``--in-flight`` awaiting replies, the standby's reported lag
is sampled; then the leader is SIGKILLed and a command sent at once. Two figures:

- ``takeover_ms``: from the kill until that command's reply, from the standby now leading (the
  lease's time to live, ``--ttl-ms``, is most of it);
- ``standby_lag_records``: the most records the standby reported it had yet to apply, under
  that load (it reports every third of the TTL; -1 if it reported nothing meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bench._common import drop_keys, report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.engine_status import read_status
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import Deposit, OpenAccount
from cryptocfd.trading.events import Accepted

ACCOUNTS = 100
SAMPLE_S = 0.05


async def deposits(client: EngineClient, count: int, in_flight: int, now: int) -> None:
    gate = asyncio.Semaphore(in_flight)

    async def one(n: int) -> None:
        async with gate:
            await client.send(Deposit(f"d{n}", now, 1 + n % ACCOUNTS, Cents(100)))

    await asyncio.gather(*(one(n) for n in range(count)))


async def sample_lag(redis: Redis, prefix: str, lags: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        lag = (await read_status(redis, prefix)).get("standby_lag")
        if lag is not None:
            lags.append(int(lag))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_S)


async def one_run(args: argparse.Namespace) -> tuple[float, float]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    streams = Streams(f"bench-failover-{secrets.token_hex(4)}:")
    redis = Redis.from_url(redis_url)
    key = secrets.token_hex(32)
    ttl = {"CRYPTOCFD_ENGINE_LEASE_TTL_MS": str(args.ttl_ms)}
    with tempfile.TemporaryDirectory() as state:
        leader, _ = start_engine(redis_url, streams.prefix, Path(state), key, extra=ttl)
        standby, _ = start_engine(
            redis_url, streams.prefix, Path(state), key, b"engine standby", ttl
        )
        client = EngineClient(redis, streams, timeout_s=30)
        await client.start()
        try:
            now = int(time.time() * 1000)
            for account in range(1, ACCOUNTS + 1):
                await client.send(OpenAccount(f"a{account}", now, account, Cents(10**10)))
            lags: list[int] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_lag(redis, streams.prefix, lags, stop))
            await deposits(client, args.count, args.in_flight, now)
            stop.set()
            await sampler
            kill_engine(leader)
            killed = time.perf_counter()
            outcome = await client.send(Deposit("after", now, 1, Cents(100)))
            took_ms = (time.perf_counter() - killed) * 1000
            assert isinstance(outcome, Accepted), outcome
        finally:
            await client.close()
            for engine in (leader, standby):
                if engine.poll() is None:
                    os.killpg(engine.pid, signal.SIGKILL)
                    engine.wait()
            await drop_keys(redis, streams.prefix)
            await redis.aclose()
    return took_ms, float(max(lags, default=-1))  # -1: the standby reported nothing meanwhile


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cryptocfd bench failover")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--ttl-ms", type=int, default=2_000, help="the lease's time to live")
    args = parser.parse_args(argv)
    figures: dict[str, list[float]] = {"takeover_ms": [], "standby_lag_records": []}
    for _ in range(args.runs):
        took_ms, lag = asyncio.run(one_run(args))
        figures["takeover_ms"].append(took_ms)
        figures["standby_lag_records"].append(lag)
    report(
        "failover",
        figures,
        {
            "takeover_ms": f"< {args.ttl_ms * 4 // 3 + 1_000:,} (TTL {args.ttl_ms:,} ms)",
            "standby_lag_records": "a few records",
        },
    )
    return 0
