"""An engine process whose every snapshot is corrupt: it rebuilds from the log while the log
still reaches back to its first record, and otherwise refuses with one clear message."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.queries import GetPortfolio
from cryptocfd.trading.views import Portfolio
from tests.integration.engine_clients import T0, deposit, engine_client
from tests.integration.engine_process import EngineProcess
from tests.integration.servers import redis_server

KEY_HEX = secrets.token_hex(32)


def corrupt_every_snapshot(state_dir: Path) -> int:
    """Flip a byte in the sealed image of every snapshot; how many there were."""
    paths = list((state_dir / "snapshots").glob("snapshot-*.snap"))
    for path in paths:
        data = bytearray(path.read_bytes())
        data[-20] ^= 0xFF
        path.write_bytes(bytes(data))
    return len(paths)


async def run_and_stop(url: str, streams: Streams, state_dir: Path) -> None:
    """Open account 7 with 1,000 and deposit 100 five times; stop (a snapshot is written)."""
    engine = EngineProcess(url, streams.prefix, state_dir, KEY_HEX)
    await asyncio.to_thread(engine.start)
    try:
        async with engine_client(url, streams) as client:
            await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
            for n in range(1, 6):
                await deposit(client, n)
    finally:
        engine.stop()


async def test_engine_when_every_snapshot_is_corrupt_rebuilds_from_a_whole_log(
    tmp_path: Path,
) -> None:
    streams = Streams(f"corrupt:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        await run_and_stop(server.url, streams, tmp_path)
        corrupted = corrupt_every_snapshot(tmp_path)
        engine = EngineProcess(server.url, streams.prefix, tmp_path, KEY_HEX)
        await asyncio.to_thread(engine.start)
        try:
            async with engine_client(server.url, streams) as client:
                await deposit(client, 6)
                found = await client.portfolio(GetPortfolio("look", 7))
        finally:
            engine.stop()

    assert corrupted >= 1
    assert isinstance(found, Portfolio), found
    assert found.account.balance == 1_000 + 6 * 100
    assert "engine ready (6 records replayed)" in engine.log.read_text()


async def test_engine_when_every_snapshot_is_corrupt_and_the_log_was_trimmed_refuses_clearly(
    tmp_path: Path,
) -> None:
    streams = Streams(f"corrupt:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        await run_and_stop(server.url, streams, tmp_path)
        redis = Redis.from_url(server.url)
        newest = entries(await redis.xrevrange(streams.records, count=1))[0][0]
        await redis.xtrim(
            streams.records, minid=newest, approximate=False
        )  # as trimming does behind a snapshot
        await redis.aclose()
        corrupt_every_snapshot(tmp_path)
        engine = EngineProcess(server.url, streams.prefix, tmp_path, KEY_HEX)
        try:
            with pytest.raises(RuntimeError, match="exited with code 3"):
                await asyncio.to_thread(engine.start)
        finally:
            assert engine.process is not None
            if engine.process.poll() is None:
                engine.kill()
        code = engine.process.wait(10)
    log = engine.log.read_text()

    assert code == 3, log
    assert "Traceback" not in log
    assert log.count("cryptocfd engine: no valid snapshot in ") == 1
    assert "has been trimmed (1 of the 6 records written remain)" in log
    assert "Restore a snapshot from a backup" in log
