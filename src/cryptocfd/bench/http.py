"""``cryptocfd bench http``: the gateway over real HTTP, with the engine, Redis and
PostgreSQL on this machine and the load generator in this process.

It creates a throwaway database and key prefix, starts ``cryptocfd engine`` and
``cryptocfd gateway --workers 2``, signs users in through their emailed links, keeps prices
fresh, then measures per run:

- ``POST /api/v1/trade/create``: sustained orders/s with ``--connections`` busy connections,
  then p50 and p99 at a constant ``--rate`` per second;
- ``GET /api/v1/balance``: the same two figures.

Beside each closed loop it reports the CPU the load generator (this process) and the gateway's
workers used, as a share of one core: a generator near 100% means the figure is its limit, not
the gateway's. With ``--profile DIR`` a sampling profiler (py-spy) records the gateway's workers
during the first run's create-order loop and the top of the profile is printed
(``bench/_profile.py``).

With ``--signed`` every request is signed with an API key instead of carrying a bearer token
(each user makes one; a request is signed as it is sent, since a signature is good once), so
the two runs side by side give what signing costs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from redis.asyncio import Redis

from cryptocfd.bench._common import drop_keys, report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bench._gateway_proc import ONE_ADDRESS_LOAD, running_gateway
from cryptocfd.bench._http_load import Connection, build, closed_loop, open_loop
from cryptocfd.bench._platform import fresh_ticks, sign_in
from cryptocfd.bench._postgres import admin, database_url
from cryptocfd.bench._procfs import children, cpu_s, own_cpu_s
from cryptocfd.bench._profile import profiled
from cryptocfd.bus.streams import Streams
from cryptocfd.services.embedded.binaries import free_port

USERS = 32


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def _api_keys(base: str, tokens: list[str]) -> list[tuple[str, str]]:
    """One trade key per signed-in user: ``(api_key, secret)``."""
    keys = []
    async with httpx.AsyncClient(base_url=base) as client:
        for token in tokens:
            answer = await client.post(
                "/api/v1/account/api-keys",
                json={"label": "bench", "scopes": ["read", "trade"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            answer.raise_for_status()
            keys.append((answer.json()["api_key"], answer.json()["secret"]))
    return keys


def _signed(key: tuple[str, str], payload: bytes) -> dict[str, str]:
    api_key, secret = key
    stamp = str(time.time_ns() // 1_000_000)
    text = (stamp + api_key + "5000").encode() + payload
    signature = hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    return {
        "X-CFD-API-KEY": api_key,
        "X-CFD-TIMESTAMP": stamp,
        "X-CFD-RECV-WINDOW": "5000",
        "X-CFD-SIGNATURE": signature,
    }


Requests = Callable[[int], bytes]


def _bearer_requests(host: str, tokens: list[str], order: bytes) -> tuple[Requests, Requests]:
    creates = [
        build("POST", "/api/v1/trade/create", host, {"Authorization": f"Bearer {t}"}, order)
        for t in tokens
    ]
    balances = [
        build("GET", "/api/v1/balance", host, {"Authorization": f"Bearer {t}"}) for t in tokens
    ]
    return (lambda n: creates[n % len(creates)]), (lambda n: balances[n % len(balances)])


def _signed_requests(
    host: str, keys: list[tuple[str, str]], order: bytes
) -> tuple[Requests, Requests]:
    # Two requests of one user signed in the same millisecond with the same payload would be
    # one signature, refused the second time: users take turns, and each request's payload
    # differs from its neighbours' (spaces in the JSON; an ignored query parameter).
    def create(n: int) -> bytes:
        key = keys[n % len(keys)]
        body = b"{" + b" " * (n // len(keys) % 64) + order[1:]
        return build("POST", "/api/v1/trade/create", host, _signed(key, body), body)

    def balance(n: int) -> bytes:
        query = f"n={n}".encode()
        headers = _signed(keys[n % len(keys)], query)
        return build("GET", f"/api/v1/balance?{query.decode()}", host, headers)

    return create, balance


class CpuShare:
    """The CPU this process and ``pids`` used during a ``with`` block, in percent of one core."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.generator_pct = 0.0
        self.gateway_pct = 0.0

    def _now(self) -> tuple[float, float, float]:
        return time.perf_counter(), own_cpu_s(), sum(cpu_s(pid) for pid in self.pids)

    def __enter__(self) -> CpuShare:
        self._began = self._now()
        return self

    def __exit__(self, *_: object) -> None:
        wall, own, theirs = (b - a for a, b in zip(self._began, self._now(), strict=True))
        self.generator_pct = 100 * own / wall
        self.gateway_pct = 100 * theirs / wall


async def _measure(
    args: argparse.Namespace,
    port: int,
    tokens: list[str],
    keys: list[tuple[str, str]],
    workers: list[int],
) -> dict[str, float]:
    host = f"127.0.0.1:{port}"
    order = json.dumps({"asset": "BTC", "side": "long", "margin": "1.00", "leverage": 100})
    if args.signed:
        creates, balances = _signed_requests(host, keys, order.encode())
    else:
        creates, balances = _bearer_requests(host, tokens, order.encode())
    connections = [await Connection.open("127.0.0.1", port) for _ in range(args.connections)]
    figures: dict[str, float] = {}
    try:
        for name, nth in (("orders", creates), ("balance", balances)):
            with CpuShare(workers) as closed:
                ok, statuses = await closed_loop(connections, nth, args.seconds)
            if set(statuses) != {200}:
                print(f"{name}: statuses {statuses}", file=sys.stderr)
            figures[f"{name}_per_s"] = ok / args.seconds
            with CpuShare(workers) as opened:
                latencies, statuses = await open_loop(connections, nth, args.rate, args.seconds)
            if set(statuses) != {200}:
                print(f"{name} at {args.rate}/s: statuses {statuses}", file=sys.stderr)
            figures[f"{name}_p50_ms"] = statistics.median(latencies)
            figures[f"{name}_p99_ms"] = _percentile(latencies, 0.99)
            figures[f"{name}_errors"] = sum(n for s, n in statuses.items() if s != 200)
            figures[f"{name}_generator_cpu_pct"] = closed.generator_pct
            figures[f"{name}_gateway_cpu_pct"] = closed.gateway_pct
            figures[f"{name}_open_generator_cpu_pct"] = opened.generator_pct
    finally:
        for connection in connections:
            connection.close()
    return figures


async def _bench(args: argparse.Namespace) -> list[dict[str, float]]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"cryptocfd_bench_{secrets.token_hex(4)}"
    db_url = database_url(name)
    streams = Streams(f"bench-http-{secrets.token_hex(4)}:")
    redis = Redis.from_url(redis_url)
    port = free_port()
    await admin(f'CREATE DATABASE "{name}"')
    stop = asyncio.Event()
    key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "CRYPTOCFD_REDIS_PREFIX": streams.prefix,
            "CRYPTOCFD_STATE_DIR": state,
            "CRYPTOCFD_SECRET_KEY": key,
            "CRYPTOCFD_PUBLIC_URL": f"http://127.0.0.1:{port}",
            **ONE_ADDRESS_LOAD,
            "CRYPTOCFD_RATE_PER_USER_PER_MIN": str(10**9),
            "CRYPTOCFD_LOGINS_PER_IP_PER_MIN": str(10**6),
        }
        subprocess.run([sys.executable, "-m", "cryptocfd.cli", "migrate"], env=env, check=True)
        gateways: list[subprocess.Popen[bytes]] = []
        engine, _ = start_engine(redis_url, streams.prefix, Path(state), secrets.token_hex(32))
        ticker = asyncio.create_task(fresh_ticks(redis, streams, stop))
        try:
            async with running_gateway(env, port, args.workers, started=gateways) as base:
                tokens = await sign_in(base, db_url, key, USERS)
                keys = await _api_keys(base, tokens) if args.signed else []
                workers = children(gateways[0].pid) or [gateways[0].pid]
                runs = []
                for n in range(args.runs):
                    with profiled(args.profile if n == 0 else None, workers, args.seconds):
                        runs.append(await _measure(args, port, tokens, keys, workers))
                return runs
        finally:
            stop.set()
            await ticker
            kill_engine(engine)
            await drop_keys(redis, streams.prefix)
            await redis.aclose()
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    """Run the benchmark and print the summary, then the JSON line."""
    parser = argparse.ArgumentParser(prog="cryptocfd bench http")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--signed", action="store_true", help="API-key signatures, not tokens")
    parser.add_argument(
        "--profile", type=Path, help="record the gateway with py-spy into this folder"
    )
    args = parser.parse_args(argv)
    runs = asyncio.run(_bench(args))
    figures = {key: [run[key] for run in runs] for key in runs[0]}
    # The names for the order figures come first in the JSON line.
    figures = {
        "orders_per_s": figures.pop("orders_per_s"),
        "p50_ms": figures.pop("orders_p50_ms"),
        "p99_ms": figures.pop("orders_p99_ms"),
        **figures,
    }
    how = "signed with API keys" if args.signed else "bearer tokens"
    report(
        f"http ({args.workers} gateway workers, {args.connections} connections, {how})",
        figures,
        {
            "orders_per_s": ">= 4,000",
            "p50_ms": f"< 3 at {args.rate}/s",
            "p99_ms": f"< 10 at {args.rate}/s (< 25: 2,000 conns)",
            "orders_errors": "0",
            "orders_generator_cpu_pct": "< 100 (else: its limit)",
        },
    )
    return 0
