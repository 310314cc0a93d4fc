"""The engine as a real process while Redis pauses or goes away, and while it is paused itself:
it waits and recovers instead of exiting, and applies every request exactly once."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import OpenAccount
from tests.integration.engine_clients import T0, applied_once, deposit, engine_client
from tests.integration.engine_process import EngineProcess
from tests.integration.servers import RedisServer, redis_server

KEY_HEX = secrets.token_hex(32)


async def test_engine_when_stopped_for_six_seconds_resumes_and_answers(tmp_path: Path) -> None:
    streams = Streams(f"stall:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        engine = EngineProcess(server.url, streams.prefix, tmp_path, KEY_HEX)
        await asyncio.to_thread(engine.start)
        try:
            assert engine.process is not None
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                os.kill(engine.process.pid, signal.SIGSTOP)
                await asyncio.sleep(6)  # longer than redis-py's default 5 s socket timeout
                os.kill(engine.process.pid, signal.SIGCONT)
                await deposit(client, 1)
            alive = engine.process.poll() is None
        finally:
            engine.stop()
        log = engine.log.read_text()

    assert alive, log
    assert log.count("engine ready (") == 1, log  # it resumed: no recovery was needed
    assert "Redis is unavailable" not in log


async def test_engine_when_redis_restarts_mid_run_waits_recovers_and_applies_each_once(
    tmp_path: Path,
) -> None:
    streams = Streams(f"restart:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        engine = EngineProcess(server.url, streams.prefix, tmp_path, KEY_HEX)
        await asyncio.to_thread(engine.start)
        try:
            assert engine.process is not None
            pid = engine.process.pid
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                await deposit(client, 1)
            server.stop()
            await asyncio.sleep(3)
            server.start()
            async with engine_client(server.url, streams) as client:
                await asyncio.gather(*(deposit(client, n) for n in range(2, 12)))
            alive = engine.process.poll() is None and engine.process.pid == pid
        finally:
            engine.stop()
        counts = await applied_once(server.url, streams)
        log = engine.log.read_text()

    assert alive, log
    assert "Redis is unavailable" in log
    assert log.count("engine ready (") == 2, log  # recovered in the same process
    assert counts == {"open": 1, **{f"dep-{n}": 1 for n in range(1, 12)}}


async def test_engine_when_redis_is_not_up_yet_waits_for_it_instead_of_exiting(
    tmp_path: Path,
) -> None:
    streams = Streams(f"late:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis", started=False) as server:
        engine = EngineProcess(server.url, streams.prefix, tmp_path, KEY_HEX)
        later = threading.Timer(3, server.start)
        later.start()
        try:
            await asyncio.to_thread(engine.start, 30)
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                await deposit(client, 1)
        finally:
            later.join()
            engine.stop()
        log = engine.log.read_text()

    assert "Redis is unavailable" in log
    assert log.count("engine ready (") == 1


async def test_engine_when_a_write_times_out_recovers_and_applies_each_request_once(
    tmp_path: Path,
) -> None:
    streams = Streams(f"timeout:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        engine = EngineProcess(
            server.url, streams.prefix, tmp_path, KEY_HEX, CRYPTOCFD_ENGINE_REDIS_TIMEOUT_S="1"
        )
        await asyncio.to_thread(engine.start)
        try:
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                sending = [asyncio.create_task(deposit(client, n)) for n in range(1, 30)]
                await asyncio.sleep(0.005)
                await pause_writes(server, 2_500)  # calls in flight time out after 1 s
                await asyncio.gather(*sending)
                await deposit(client, 30)
            assert engine.process is not None
            alive = engine.process.poll() is None
        finally:
            engine.stop()
        counts = await applied_once(server.url, streams)
        log = engine.log.read_text()

    assert alive, log
    assert "Redis is unavailable" in log
    assert counts == {"open": 1, **{f"dep-{n}": 1 for n in range(1, 31)}}


async def pause_writes(server: RedisServer, ms: int) -> None:
    redis = Redis.from_url(server.url)
    await redis.client_pause(ms, all=False)  # writes only: XREADGROUP and EXEC among them
    await redis.aclose()
