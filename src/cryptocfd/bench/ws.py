"""``cryptocfd bench ws``: tick-to-client latency with many websocket clients on prices.

Starts ``cryptocfd engine`` and ``cryptocfd gateway`` on a throwaway key prefix and database,
opens ``--clients`` websocket connections subscribed to ``prices`` (in this process, on
uvloop, each a ``_ws_client.Client`` protocol), then publishes ticks as the feed does (the
engine's price stream and the ticks channel, ``bus/ticks.py``) at ``--rate`` per second. Each
tick carries its publish time in its timestamp; every client notes when the quote reached it.
The figure is the p99 of (arrival - publish) over every delivery, per run.

The load generator shares the two cores with the gateway, so it is kept as cheap as it can be:
whatever it spends is taken from the process it measures. It reports the CPU it used (a share
of one core: near 100% means the figure is its limit), the deliveries it missed and the
connections the gateway dropped (both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop
from redis.asyncio import Redis

from cryptocfd.bench._common import drop_keys, report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bench._gateway_proc import ONE_ADDRESS_LOAD, running_gateway
from cryptocfd.bench._postgres import admin, database_url
from cryptocfd.bench._procfs import own_cpu_s
from cryptocfd.bench._ws_client import SUBSCRIBE_PRICES, Client
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.embedded.binaries import free_port


async def _run(
    args: argparse.Namespace, port: int, redis: Redis, streams: Streams
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    url = f"ws://127.0.0.1:{port}/api/v1/ws"
    latencies: list[float] = []
    clients: list[Client] = []
    hello = [SUBSCRIBE_PRICES]
    for _ in range(args.clients):
        _, client = await loop.create_connection(
            lambda: Client(url, latencies, hello), "127.0.0.1", port
        )
        await client.subscribed
        clients.append(client)
    await asyncio.sleep(1.0)  # let the snapshots of prices pass
    latencies.clear()
    began, cpu = time.perf_counter(), own_cpu_s()
    bid = 6_400_000
    for n in range(int(args.rate * args.seconds)):
        bid += 100 if n % 2 else -100
        tick = Tick("BTC", PriceTicks(bid), PriceTicks(bid + 1_000), int(time.time() * 1000))
        await publish_ticks(redis, streams, [tick], maxlen=10_000)
        await asyncio.sleep(1 / args.rate)
    await asyncio.sleep(1.0)
    generator_pct = 100 * (own_cpu_s() - cpu) / (time.perf_counter() - began)
    dropped = sum(client.dropped for client in clients)
    for client in clients:
        client.close()
    ordered = sorted(latencies)
    expected = args.clients * int(args.rate * args.seconds)
    print(f"deliveries {len(ordered):,} of {expected:,}, p50 {statistics.median(ordered):.1f} ms")
    return {
        "ws_p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "ws_p50_ms": statistics.median(ordered),
        "missed_deliveries": max(0, expected - len(ordered)),
        "dropped_connections": dropped,
        "generator_cpu_pct": generator_pct,
    }


async def _bench(args: argparse.Namespace) -> list[dict[str, float]]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"cryptocfd_bench_{secrets.token_hex(4)}"
    streams = Streams(f"bench-ws-{secrets.token_hex(4)}:")
    redis = Redis.from_url(redis_url)
    port = free_port()
    await admin(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(name),
            "REDIS_URL": redis_url,
            "CRYPTOCFD_REDIS_PREFIX": streams.prefix,
            "CRYPTOCFD_STATE_DIR": state,
            "CRYPTOCFD_ACCESS_LOG": "0",
            **ONE_ADDRESS_LOAD,
        }
        subprocess.run([sys.executable, "-m", "cryptocfd.cli", "migrate"], env=env, check=True)
        engine, _ = start_engine(redis_url, streams.prefix, Path(state), secrets.token_hex(32))
        try:
            async with running_gateway(env, port, args.workers):
                return [await _run(args, port, redis, streams) for _ in range(args.runs)]
        finally:
            kill_engine(engine)
            await drop_keys(redis, streams.prefix)
            await redis.aclose()
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    """Run the benchmark and print the summary, then the JSON line."""
    parser = argparse.ArgumentParser(prog="cryptocfd bench ws")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=10.0, help="BTC ticks per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    args = parser.parse_args(argv)
    runs = uvloop.run(_bench(args))  # the event loop the gateway runs on: C, not Python
    report(
        f"ws ({args.clients:,} clients on prices, {args.rate:g} ticks/s, "
        f"{args.workers} gateway workers)",
        {key: [run[key] for run in runs] for key in runs[0]},
        {
            "ws_p99_ms": "< 50",
            "missed_deliveries": "0",
            "dropped_connections": "0",
            "generator_cpu_pct": "< 100 (else: its limit)",
        },
    )
    return 0
