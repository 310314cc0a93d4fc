"""Two real engine processes on one Redis: one leads under the lease, the other is its hot
standby. A standby writes nothing; a leader killed or paused past its TTL is replaced within
seconds; the old one's writes are refused by Redis; every request is applied once, and a
retried request id gets its first outcome whichever engine produced it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.engine_status import read_status
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import ENGINE_GROUP, Streams
from cryptocfd.core.money import Cents
from cryptocfd.services.snapshots import SnapshotStore, parse_key
from cryptocfd.trading.commands import Deposit, OpenAccount
from cryptocfd.trading.events import Accepted
from tests.integration.engine_clients import T0, applied_once, deposit, engine_client
from tests.integration.engine_process import EngineProcess
from tests.integration.servers import redis_server
from tests.waiting import says, until

KEY_HEX = secrets.token_hex(32)
TTL_MS = "1000"


def pair(
    url: str, streams: Streams, state: Path, standby_consumer: str = "engine-1", **env: str
) -> tuple[EngineProcess, EngineProcess]:
    """A leader and a standby sharing one state directory (so one snapshot store)."""
    env = {"CRYPTOCFD_ENGINE_LEASE_TTL_MS": TTL_MS, **env}
    standby_env = {**env, "CRYPTOCFD_ENGINE_CONSUMER": standby_consumer}
    return (
        EngineProcess(url, streams.prefix, state, KEY_HEX, "a.log", **env),
        EngineProcess(url, streams.prefix, state, KEY_HEX, "b.log", **standby_env),
    )


@contextlib.contextmanager
def stopped_at_the_end(*engines: EngineProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for engine in engines:
            if engine.process is not None and engine.process.poll() is None:
                os.kill(engine.process.pid, signal.SIGCONT)
                engine.stop()


async def epochs(url: str, streams: Streams) -> list[int | None]:
    """The epoch of every record, in log order."""
    redis = Redis.from_url(url)
    records = entries(await redis.xrange(streams.records))
    await redis.aclose()
    return [decode_record(fields[FIELD]).epoch for _id, fields in records]


async def wait_for(engine: EngineProcess, text: str, timeout_s: float = 15.0) -> None:
    assert engine.process is not None
    process = engine.process
    await until(lambda: says(engine.log, text, process), timeout_s, poll_s=0.02)


async def test_standby_while_one_leads_writes_nothing_and_every_record_is_the_leaders(
    tmp_path: Path,
) -> None:
    streams = Streams(f"standby:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        leader, standby = pair(server.url, streams, tmp_path)
        await asyncio.to_thread(leader.start)
        await asyncio.to_thread(standby.start, 20.0, "engine standby")
        with stopped_at_the_end(standby, leader):
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                await asyncio.gather(*(deposit(client, n) for n in range(1, 41)))
            status = await until(lambda: standby_caught_up(server.url, streams, 41), 10)
        counts = await applied_once(server.url, streams)
        written = await epochs(server.url, streams)

    assert counts == {"open": 1, **{f"dep-{n}": 1 for n in range(1, 41)}}
    assert written == [1] * 41  # all the leader's: the standby wrote none
    assert "engine ready" not in standby.log.read_text()
    assert status["epoch"] == "1"
    assert status["standby_lag"] == "0"


async def standby_caught_up(url: str, streams: Streams, records: int) -> dict[str, str] | None:
    redis = Redis.from_url(url)
    status = await read_status(redis, streams.prefix)
    last = entries(await redis.xrevrange(streams.records, count=1))
    await redis.aclose()
    at_end = len(last) == 1 and status.get("standby_record") == last[0][0].decode()
    caught_up = at_end and status.get("standby_lag") == "0" and records > 0
    return status if caught_up else None


async def test_standby_when_the_leader_is_killed_serves_within_seconds_each_request_once(
    tmp_path: Path,
) -> None:
    streams = Streams(f"kill:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        leader, standby = pair(
            server.url,
            streams,
            tmp_path,
            CRYPTOCFD_SNAPSHOT_EVERY_EVENTS="21",
            CRYPTOCFD_ENGINE_STANDBY_HASH="1",
        )
        await asyncio.to_thread(leader.start)
        await asyncio.to_thread(standby.start, 20.0, "engine standby")
        with stopped_at_the_end(standby, leader):
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                for n in range(1, 21):
                    await deposit(client, n)  # 21 records: the leader snapshots after the last
                status = await until(lambda: standby_caught_up(server.url, streams, 21), 10)
                snapshot = await until(lambda: newest_header(tmp_path), 10)

                leader.kill()
                killed = time.monotonic()
                await wait_for(standby, "engine ready")
                took_s = time.monotonic() - killed
                await asyncio.gather(*(deposit(client, n) for n in range(21, 41)))
            counts = await applied_once(server.url, streams)
            written = await epochs(server.url, streams)
            redis = Redis.from_url(server.url)
            after = await read_status(redis, streams.prefix)
            await redis.aclose()

    assert (snapshot.last_record_id, snapshot.state_hash) == (
        status["standby_record"],
        status["standby_hash"],
    )  # the standby's state, caught up, is the leader's
    assert took_s < 5, took_s
    assert counts == {"open": 1, **{f"dep-{n}": 1 for n in range(1, 41)}}
    assert written == [1] * 21 + [2] * 20
    assert after["epoch"] == "2"
    assert int(after["takeover_ms"]) > 0


async def has_three(redis: Redis, streams: Streams) -> bool:
    return await redis.xlen(streams.commands) == 3


def newest_header(state: Path):  # type: ignore[no-untyped-def]
    store = SnapshotStore(state / "snapshots", parse_key(KEY_HEX))
    return next((snapshot.header for snapshot in store.valid()), None)


async def test_leader_when_paused_past_its_ttl_is_fenced_out_and_becomes_a_standby(
    tmp_path: Path,
) -> None:
    streams = Streams(f"pause:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        old, new = pair(server.url, streams, tmp_path)
        await asyncio.to_thread(old.start)
        await asyncio.to_thread(new.start, 20.0, "engine standby")
        with stopped_at_the_end(new, old):
            assert old.process is not None
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                await deposit(client, 1)
                os.kill(old.process.pid, signal.SIGSTOP)
                await wait_for(new, "engine ready")
                sending = [asyncio.create_task(deposit(client, n)) for n in range(2, 30)]
                await asyncio.sleep(0.05)
                os.kill(old.process.pid, signal.SIGCONT)  # it would go on writing as epoch 1
                await asyncio.gather(*sending)
                await wait_for(old, "lease lost")
                await wait_for(old, "engine standby", 20)
                await deposit(client, 30)
            old_alive = old.process.poll() is None
            counts = await applied_once(server.url, streams)
            written = await epochs(server.url, streams)

    first_new = written.index(2)
    assert set(written[:first_new]) == {1}
    assert set(written[first_new:]) == {2}  # nothing of epoch 1 after epoch 2's first record
    assert counts == {"open": 1, **{f"dep-{n}": 1 for n in range(1, 31)}}
    assert old_alive  # a standby now, in the same process


async def test_request_id_when_retried_after_a_takeover_gets_its_first_outcome(
    tmp_path: Path,
) -> None:
    streams = Streams(f"retry:{secrets.token_hex(4)}:")
    with redis_server(tmp_path / "redis") as server:
        # Under another consumer name, so the command the leader left pending must be claimed.
        leader, standby = pair(server.url, streams, tmp_path, standby_consumer="engine-b")
        await asyncio.to_thread(leader.start)
        await asyncio.to_thread(standby.start, 20.0, "engine standby")
        with stopped_at_the_end(standby, leader):
            redis = Redis.from_url(server.url)
            async with engine_client(server.url, streams) as client:
                await client.send(OpenAccount("open", T0, 7, Cents(1_000)))
                first = await client.send(Deposit("dep-x", T0 + 1, 7, Cents(100)))
                assert leader.process is not None
                os.kill(leader.process.pid, signal.SIGSTOP)
                # A command the leader has read and never acknowledged, as if it died mid-batch
                # (its blocked read may have taken it already; if not, take it as it would).
                unread = asyncio.create_task(client.send(Deposit("dep-y", T0 + 2, 7, Cents(50))))
                await until(lambda: has_three(redis, streams), 5)
                await redis.xreadgroup(ENGINE_GROUP, "engine-1", {streams.commands: ">"})
                pending = await redis.xpending(streams.commands, ENGINE_GROUP)
                assert pending["pending"] == 1
                leader.kill()
                await wait_for(standby, "engine ready")
                again = await client.send(Deposit("dep-x", T0 + 1, 7, Cents(100)))
                pending_outcome = await unread
            counts = await applied_once(server.url, streams)
            await redis.aclose()

    assert isinstance(first, Accepted)
    assert again == first  # the first outcome, though another engine answered
    assert isinstance(pending_outcome, Accepted)
    assert counts == {"open": 1, "dep-x": 1, "dep-y": 1}
