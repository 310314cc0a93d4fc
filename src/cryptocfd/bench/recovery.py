"""``cryptocfd bench recovery``: a cold start from a big snapshot plus a tail of records.

Builds an engine with ``--accounts`` accounts and ``--positions`` open positions, snapshots it
(encrypted, to a temporary state directory), appends ``--tail`` more records to the log on the
Redis at ``REDIS_URL``, then times ``cryptocfd engine`` from process start to serving, ``--runs``
times. Also reports the snapshot's size and write time, and the pause a snapshot costs the
engine: the ``fork()`` of a process holding that state.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path

import redis

from cryptocfd.bench._big_state import T0, build, write_snapshot
from cryptocfd.bench._common import report
from cryptocfd.bench._engine_proc import kill_engine, start_engine
from cryptocfd.bus.messages import FIELD, Record, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.trading.commands import ClosePosition


def fork_pause_ms() -> float:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    pause = (time.perf_counter() - started) * 1000
    os.waitpid(pid, 0)
    return pause


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cryptocfd bench recovery")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=10_000)
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(redis_url)
    streams = Streams(f"bench-recovery-{secrets.token_hex(4)}:")
    key_hex = secrets.token_hex(32)
    figures: dict[str, list[float]] = {
        "recovery_ms": [], "snapshot_mb": [], "snapshot_write_ms": [], "snapshot_pause_ms": [],
    }  # fmt: skip
    print(f"building {args.accounts:,} accounts and {args.positions:,} positions...")
    engine = build(args.accounts, args.positions)
    with tempfile.TemporaryDirectory() as state:
        try:
            marker = client.xadd(streams.records, {b"marker": b"1"})
            for _ in range(3):
                started = time.perf_counter()
                last_id = marker.decode() if isinstance(marker, bytes) else str(marker)
                path = write_snapshot(Path(state), key_hex, engine, last_id)
                figures["snapshot_write_ms"].append((time.perf_counter() - started) * 1000)
                figures["snapshot_mb"].append(path.stat().st_size / 1e6)
                figures["snapshot_pause_ms"].append(fork_pause_ms())
            pipe = client.pipeline(transaction=False)
            for n in range(args.tail):
                command = ClosePosition(f"t{n}", T0 + 1, 1 + n % args.accounts, n + 1)
                outcome = engine.apply(command)
                pipe.xadd(
                    streams.records,
                    {
                        FIELD: encode(
                            Record(
                                "command",
                                command.request_id,
                                command.ts,
                                outcome,
                                applied=True,
                                seqs=engine.order_seqs(outcome),
                            )
                        )
                    },
                )
            pipe.execute()
            for _ in range(args.runs):
                process, ready_ms = start_engine(redis_url, streams.prefix, Path(state), key_hex)
                kill_engine(process)
                figures["recovery_ms"].append(ready_ms)
        finally:
            keys = list(client.scan_iter(match=f"{streams.prefix}*"))
            if keys:
                client.delete(*keys)
    report(
        "recovery",
        figures,
        {
            "recovery_ms": "< 500 (process start to serving)",
            "snapshot_pause_ms": "bounded: the fork",
        },
    )
    return 0
