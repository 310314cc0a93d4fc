"""The faults, one at a time, on a running ``FaultPlatform``: each injects its fault and brings
back what it broke (the test is the supervisor), and returns once the platform serves again."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable

import httpx
from redis.asyncio import Redis

from tests.integration.engine_process import EngineProcess
from tests.integration.fault_load import Load
from tests.integration.fault_platform import FaultPlatform, alive, answers
from tests.waiting import says, until

# A fault is given how long to keep what it breaks away (0: bring it back at once); it says
# what it did, in a few words.
Fault = Callable[[FaultPlatform, Load, float], Awaitable[str]]


async def taken_over_from(platform: FaultPlatform, old: EngineProcess) -> EngineProcess:
    """Wait until the other engine leads; return it."""
    new = platform.standby_of(old)
    await until(lambda: leads(platform, new), 30, poll_s=0.02, why="the standby to take over")
    return new


async def leads(platform: FaultPlatform, engine: EngineProcess) -> bool:
    """Whether ``engine`` leads (a stopped leader still does, until another takes over)."""
    return (await platform.leader()) is engine


async def kill_leader(platform: FaultPlatform, _load: Load, _hold_s: float) -> str:
    """SIGKILL the leading engine; the standby takes over; the killed one returns as standby."""
    leader = await platform.leader()
    leader.kill()
    await taken_over_from(platform, leader)
    await platform.restart_engine(leader)
    return "SIGKILL of the leading engine"


async def pause_leader(platform: FaultPlatform, _load: Load, hold_s: float) -> str:
    """SIGSTOP the leader until the standby has taken its lease, then SIGCONT: the old one
    must find itself fenced out and follow as the standby, having written nothing since."""
    leader = await platform.leader()
    assert leader.process is not None
    process = leader.process
    lost = leader.log.read_text().count("lease lost")
    following = leader.log.read_text().count("engine standby")
    os.kill(process.pid, signal.SIGSTOP)
    try:
        await taken_over_from(platform, leader)
        await asyncio.sleep(hold_s)  # a longer stall: its sockets must not time out of it
    finally:
        os.kill(process.pid, signal.SIGCONT)
    await until(lambda: says(leader.log, "lease lost", process, lost + 1), 30)
    await until(lambda: says(leader.log, "engine standby", process, following + 1), 30)
    return "SIGSTOP of the leader past its lease, then SIGCONT"


async def kill_gateway(platform: FaultPlatform, _load: Load, _hold_s: float) -> str:
    """SIGKILL the gateway and start it again."""
    platform.gateway.kill()
    await platform.gateway.start()
    return "SIGKILL of the gateway, restarted"


async def kill_worker(platform: FaultPlatform, _load: Load, _hold_s: float) -> str:
    """SIGKILL the worker and start it again."""
    platform.worker.kill()
    await platform.worker.start()
    return "SIGKILL of the worker, restarted"


async def kill_redis(platform: FaultPlatform, _load: Load, hold_s: float) -> str:
    """SIGKILL Redis and start it again from its AOF; every process must reconnect by itself.

    The AOF is rewritten first, as Redis does by itself once the file has doubled: a restart
    from a rewritten AOF is the one that used to leave the backlog figures wrong."""
    async with platform.client() as redis:
        await redis.bgrewriteaof()
        await until(lambda: rewritten(redis), 30, poll_s=0.05, why="the AOF rewrite")
    platform.redis.kill()
    await asyncio.sleep(hold_s)
    await asyncio.to_thread(platform.redis.start)
    await serving_again(platform)
    return "SIGKILL of Redis after an AOF rewrite, restarted from its AOF"


async def rewritten(redis: Redis) -> bool:
    """Whether no AOF rewrite is running or waiting to."""
    info = await redis.info("persistence")
    return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]


async def restart_postgres(platform: FaultPlatform, _load: Load, hold_s: float) -> str:
    """Stop PostgreSQL as a crash does (``-m immediate``) and start it again."""
    await platform.postgres.crash()
    await asyncio.sleep(hold_s)
    await platform.postgres.start()
    await serving_again(platform)
    return "PostgreSQL stopped -m immediate, restarted"


async def gateway_without_postgres(platform: FaultPlatform, _load: Load, hold_s: float) -> str:
    """Crash PostgreSQL, then SIGKILL the gateway and start it while the database is down: it
    must start and trade (nothing of trading needs the database); then the database returns."""
    await platform.postgres.crash()
    platform.gateway.kill()
    await platform.gateway.start()
    await asyncio.sleep(hold_s)
    await platform.postgres.start()
    await serving_again(platform)
    return "PostgreSQL crashed, the gateway killed and started without it, PostgreSQL back"


async def corrupt_snapshot(platform: FaultPlatform, load: Load, _hold_s: float) -> str:
    """Kill the standby, corrupt the newest snapshot, start the standby again: it must skip
    the corrupt one, restore the one before and replay from there.

    The load and the ticks pause meanwhile, so the leader writes no newer snapshot before the
    restart reads them (the leader serves on; the window counts from the resumption)."""
    await load.pause()
    platform.ticking.clear()
    try:
        await until(platform.snapshot_at_the_end, 30, poll_s=0.05, why="a snapshot at the end")
        standby = platform.standby_of(await platform.leader())
        standby.kill()
        newest = platform.snapshots().paths()[0]
        data = bytearray(newest.read_bytes())
        data[-20] ^= 0xFF
        newest.write_bytes(bytes(data))
        await platform.restart_engine(standby)
    finally:
        platform.ticking.set()
        load.resume()
        load.marked = load.now()
    log = standby.log.read_text()
    assert f"skipping snapshot {newest}" in log, f"the restart did not meet {newest.name}"
    return f"corrupted {newest.name}, then restarted the standby"


async def serving_again(platform: FaultPlatform) -> None:
    """Wait until ``/readyz`` says the platform is whole again, with both engines running."""
    url = f"{platform.base_url}/readyz"
    await until(lambda: answers(url), 60, poll_s=0.1, why=lambda: f"{url}: {said(url)}")
    for engine in platform.engines:
        assert alive(engine), f"an engine exited:\n{engine.log.read_text()[-3000:]}"


def said(url: str) -> str:
    """What ``url`` answers now, for a failure message."""
    try:
        return httpx.get(url, timeout=5).text
    except httpx.HTTPError as exc:
        return repr(exc)


FAULTS: dict[str, Fault] = {
    "kill_leader": kill_leader,
    "pause_leader": pause_leader,
    "kill_gateway": kill_gateway,
    "kill_redis": kill_redis,
    "kill_worker": kill_worker,
    "restart_postgres": restart_postgres,
    "corrupt_snapshot": corrupt_snapshot,
    "gateway_without_pg": gateway_without_postgres,
}
