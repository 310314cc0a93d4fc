"""``cryptocfd bench ws``: tick-to-client latency with many websocket clients on prices.

Starts ``cryptocfd engine`` and ``cryptocfd gateway`` on a throwaway key prefix and database,
opens ``--clients`` websocket connections subscribed to ``prices`` (in this process, on
asyncio), then publishes ticks on the engine's price stream at ``--rate`` per second. Each tick
carries its publish time in its timestamp; every client notes when the quote reached it. The
figure is the p99 of (arrival - publish) over every delivery, per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import httpx
import msgspec
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from _common import report
from _engine_proc import kill_engine, start_engine
from _postgres import admin, database_url
from cryptocfd.bus.messages import FIELD, TickMessage, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.services.embedded.binaries import free_port
from cryptocfd.trading.commands import Tick


class _Quote(msgspec.Struct):
    asset: str
    ts: int


class _Message(msgspec.Struct):
    channel: str | None = None
    data: _Quote | None = None


_decode = msgspec.json.Decoder(_Message).decode


async def _listen(socket: ClientConnection, latencies: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            raw = await asyncio.wait_for(socket.recv(), 0.5)
        except TimeoutError:
            continue
        arrived = time.time() * 1000
        message = _decode(raw)  # msgspec: the load generator's CPU is the gateway's too
        if message.channel == "prices" and message.data is not None and message.data.asset == "BTC":
            latencies.append(arrived - message.data.ts)


async def _run(args: argparse.Namespace, port: int, redis: Redis, streams: Streams) -> float:
    url = f"ws://127.0.0.1:{port}/api/v1/ws"
    sockets = []
    for _ in range(args.clients):
        socket = await connect(url, compression=None, ping_interval=None)
        await socket.send(json.dumps({"op": "subscribe", "channels": ["prices"]}))
        sockets.append(socket)
    latencies: list[float] = []
    stop = asyncio.Event()
    listeners = [asyncio.create_task(_listen(s, latencies, stop)) for s in sockets]
    await asyncio.sleep(1.0)  # let the subscriptions settle and the snapshots of prices pass
    latencies.clear()
    bid = 6_400_000
    for n in range(int(args.rate * args.seconds)):
        bid += 100 if n % 2 else -100
        tick = Tick("BTC", bid, bid + 1_000, int(time.time() * 1000))
        await redis.xadd(streams.prices, {FIELD: encode(TickMessage(tick))}, maxlen=10_000)
        await asyncio.sleep(1 / args.rate)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*listeners)
    for socket in sockets:
        await socket.close()
    ordered = sorted(latencies)
    expected = args.clients * int(args.rate * args.seconds)
    print(f"deliveries {len(ordered):,} of {expected:,}, p50 {statistics.median(ordered):.1f} ms")
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _bench(args: argparse.Namespace) -> list[float]:
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
        }
        subprocess.run([sys.executable, "-m", "cryptocfd.cli", "migrate"], env=env, check=True)
        engine, _ = start_engine(redis_url, streams.prefix, Path(state), secrets.token_hex(32))
        gateway = subprocess.Popen(  # noqa: S603 - our own command line
            [
                sys.executable,
                "-m",
                "cryptocfd.cli",
                "gateway",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                with suppress(httpx.TransportError):
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            return [await _run(args, port, redis, streams) for _ in range(args.runs)]
        finally:
            gateway.terminate()
            gateway.wait(10)
            kill_engine(engine)
            keys = [k async for k in redis.scan_iter(match=f"{streams.prefix}*")]
            if keys:
                await redis.delete(*keys)
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
    p99s = asyncio.run(_bench(args))
    report(
        f"ws ({args.clients:,} clients on prices, {args.rate:g} ticks/s, "
        f"{args.workers} gateway workers)",
        {"ws_p99_ms": p99s},
        {"ws_p99_ms": "< 50"},
    )
    return 0
