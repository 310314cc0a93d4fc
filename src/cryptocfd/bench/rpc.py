"""``cryptocfd bench rpc``: commands through Redis Streams to a real engine process.

One client process (this one) and one engine process, on the Redis at ``REDIS_URL`` (the local
one by default) under a throwaway key prefix. Two figures:

- sustained throughput: ``--count`` orders with up to ``--in-flight`` awaiting replies;
- latency at a paced ``--rate`` requests per second for ``--seconds``: p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bench._common import drop_keys, report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import ClosePosition, Command, OpenAccount, PlaceOrder, Side
from cryptocfd.trading.events import Accepted

ACCOUNTS = 100


def orders(start: int, count: int, now: int) -> list[Command]:
    """Opens and closes of the positions just opened, alternating."""
    out: list[Command] = []
    for n in range(start, start + count):
        account = 1 + n % ACCOUNTS
        if n % 2 == 0:
            out.append(PlaceOrder(f"o{n}", now, account, "BTC", Side.LONG, Cents(10_000), 10))
        else:
            out.append(ClosePosition(f"o{n}", now, account, n // 2 + 1))
    return out


async def throughput(client: EngineClient, commands: list[Command], in_flight: int) -> float:
    gate = asyncio.Semaphore(in_flight)

    async def one(command: Command) -> None:
        async with gate:
            await client.send(command)

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in commands))
    return len(commands) / (time.perf_counter() - started)


async def paced(client: EngineClient, commands: list[Command], rate: int) -> list[float]:
    latencies: list[float] = []

    async def one(command: Command) -> None:
        sent = time.perf_counter()
        await client.send(command)
        latencies.append((time.perf_counter() - sent) * 1000)

    tasks = []
    began = time.perf_counter()
    for n, command in enumerate(commands):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(command)))
    await asyncio.gather(*tasks)
    return latencies


async def one_run(args: argparse.Namespace) -> tuple[float, float, float]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    streams = Streams(f"bench-rpc-{secrets.token_hex(4)}:")
    redis = Redis.from_url(redis_url)
    with tempfile.TemporaryDirectory() as state:
        engine, _ = start_engine(redis_url, streams.prefix, Path(state), secrets.token_hex(32))
        client = EngineClient(redis, streams, timeout_s=30)
        await client.start()
        try:
            now = int(time.time() * 1000)
            for account in range(1, ACCOUNTS + 1):
                await client.send(OpenAccount(f"a{account}", now, account, Cents(10**10)))
            tick = Tick("BTC", PriceTicks(6_000_000), PriceTicks(6_000_600), now)
            await publish_ticks(redis, streams, [tick])
            await asyncio.sleep(0.2)
            first = await client.send(
                PlaceOrder("warm", now, 1, "BTC", Side.LONG, Cents(10_000), 10)
            )
            assert isinstance(first, Accepted), first
            per_s = await throughput(client, orders(0, args.count, now), args.in_flight)
            paced_commands = orders(args.count, args.rate * args.seconds, now)
            latencies = sorted(await paced(client, paced_commands, args.rate))
        finally:
            await client.close()
            kill_engine(engine)
            await drop_keys(redis, streams.prefix)
            await redis.aclose()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return per_s, p50, p99


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cryptocfd bench rpc")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=40_000)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--rate", type=int, default=1_000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args(argv)
    figures: dict[str, list[float]] = {"rpc_per_s": [], "p50_ms": [], "p99_ms": []}
    for _ in range(args.runs):
        per_s, p50, p99 = asyncio.run(one_run(args))
        figures["rpc_per_s"].append(per_s)
        figures["p50_ms"].append(p50)
        figures["p99_ms"].append(p99)
    report(
        "rpc",
        figures,
        {
            "rpc_per_s": ">= 20,000 (one client process)",
            "p50_ms": f"< 0.5 at {args.rate:,}/s",
            "p99_ms": f"< 2 at {args.rate:,}/s",
        },
    )
    return 0
