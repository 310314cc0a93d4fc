"""Crash recovery: the engine is SIGKILLed at random points and restarted, over a real Redis
with AOF, and nothing acknowledged is lost or applied twice.

Each seed drives one engine process with a random run of commands and ticks, sent in
concurrent bursts; at a random moment (snapshots are frequent, so sometimes during one) the
engine and its snapshot child are killed, restarted, and the unanswered requests are retried
with the same request ids. Then:

- every request appears exactly once as an applied record in ``stream:exnessReceive``;
- every reply a client received is that record's outcome, and a retry after the crash gets it
  again;
- the state the restarted engine ends in (its last snapshot, written at a clean stop) hashes
  equal to an uninterrupted engine fed the same inputs in the order the log records them.

``CRYPTOCFD_CRASH_SEEDS`` sets how many seeds run (200 by default).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient, EngineUnavailable
from cryptocfd.bus.messages import FIELD, Record, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Bps, Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.snapshots import SnapshotStore, parse_key
from cryptocfd.trading.commands import (
    ClosePosition,
    Command,
    Deposit,
    OpenAccount,
    OrderType,
    PlaceOrder,
    Side,
    Withdraw,
)
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import Accepted, QuoteUpdated, TickHeld
from tests.integration.engine_harness import publish_tick
from tests.integration.engine_process import EngineProcess
from tests.integration.servers import private_redis

SEEDS = int(os.environ.get("CRYPTOCFD_CRASH_SEEDS", "200"))
BLOCK = 20  # seeds per test, run a few at a time
AT_ONCE = 3
KEY_HEX = secrets.token_hex(32)
T0 = 1_700_000_000_000
MIDS = {"BTC": 6_000_000, "ETH": 300_000}
HUNT_POLL_S = 0.0002  # a snapshot's temporary file lives only milliseconds: look often

pytestmark = pytest.mark.slow  # 200 seeds of kill and restart


@pytest.fixture(scope="module")
def aof_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis with AOF and fsync on every write, as production should run."""
    with private_redis(Path(tmp_path_factory.mktemp("aof")), aof=True, fsync="always") as url:
        yield url


def random_inputs(rng: random.Random) -> list[Command | Tick]:
    """Accounts, then a mix of ticks, orders, closes, deposits and withdrawals."""
    inputs: list[Command | Tick] = []
    now = T0
    mids = dict(MIDS)
    inputs += [
        OpenAccount(f"open-{account}", now, account, Cents(1_000_000)) for account in (1, 2, 3)
    ]
    inputs += [
        Tick(asset, PriceTicks(mid), PriceTicks(mid + mid // 5_000), now)
        for asset, mid in mids.items()
    ]
    for serial in range(1, rng.randint(20, 60) + 1):
        now += rng.randint(0, 300)
        roll = rng.random()
        account = rng.randint(1, 3)
        asset = rng.choice(tuple(mids))
        rid = f"r{serial}"
        if roll < 0.25:
            mids[asset] = max(1_000, mids[asset] + rng.randint(-1, 1) * mids[asset] // 200)
            inputs.append(
                Tick(
                    asset,
                    PriceTicks(mids[asset]),
                    PriceTicks(mids[asset] + mids[asset] // 5_000),
                    now,
                )
            )
        elif roll < 0.6:
            side = rng.choice((Side.LONG, Side.SHORT))
            inputs.append(
                PlaceOrder(rid, now, account, asset, side, Cents(rng.randint(1, 50) * 1_000),
                           rng.randint(1, 50),
                           trailing_distance=rng.choice((None, PriceTicks(2_000))))
            )  # fmt: skip
        elif roll < 0.7:
            side = rng.choice((Side.LONG, Side.SHORT))
            away = mids[asset] // 50 * (-1 if side is Side.LONG else 1)
            inputs.append(
                PlaceOrder(rid, now, account, asset, side, Cents(5_000), 10, OrderType.LIMIT,
                           PriceTicks(mids[asset] + away))
            )  # fmt: skip
        elif roll < 0.9:
            inputs.append(
                ClosePosition(
                    rid, now, account, rng.randint(1, serial), Bps(rng.choice((5_000, 10_000)))
                )
            )
        elif roll < 0.95:
            inputs.append(Deposit(rid, now, account, Cents(rng.randint(1, 10_000))))
        else:
            inputs.append(Withdraw(rid, now, account, Cents(rng.randint(1, 10_000))))
    return inputs


def bursts(rng: random.Random, inputs: list[Command | Tick]) -> list[list[Command | Tick]]:
    """The inputs cut into bursts of 1 to 8, sent concurrently within a burst."""
    out, start = [], 0
    while start < len(inputs):
        size = rng.randint(1, 8)
        out.append(inputs[start : start + size])
        start += size
    return out


async def send_burst(
    client: EngineClient, redis: Redis, streams: Streams, burst: list[Command | Tick]
) -> dict[str, Outcome | None]:
    """Send one burst; None for a request that got no answer."""

    async def one(item: Command | Tick) -> tuple[str, Outcome | None]:
        if isinstance(item, Tick):
            await publish_tick(redis, streams, item)
            return "", None
        try:
            return item.request_id, await client.send(item)
        except EngineUnavailable:
            return item.request_id, None

    answers = await asyncio.gather(*(one(item) for item in burst))
    return {rid: outcome for rid, outcome in answers if rid}


async def read_log(redis: Redis, streams: Streams) -> list[Record]:
    """Every record the engine wrote, in order."""
    return [decode_record(f[FIELD]) for _i, f in entries(await redis.xrange(streams.records))]


def replay_inputs(
    log: list[Record], commands: dict[str, Command], ticks: dict[tuple[str, int], Tick]
) -> list[Command | Tick]:
    """The inputs in the order the engine applied them, as its log records."""
    ordered: list[Command | Tick] = []
    for record in log:
        if record.kind == "command":
            assert record.request_id is not None
            ordered.append(commands[record.request_id])
        elif record.kind == "tick":
            assert isinstance(record.outcome, Accepted)
            first = record.outcome.events[0]
            assert isinstance(first, QuoteUpdated | TickHeld)
            ordered.append(ticks[first.asset, record.ts])
    return ordered


async def crash_and_recover(seed: int, redis_url: str, directory: Path) -> tuple[int, int]:
    """One seed: run, kill at a random moment, restart, retry, stop, and check.

    Returns how many requests the crash left unanswered (they were retried), and whether the
    kill caught a snapshot being written (the restart found its partial file).
    """
    rng = random.Random(seed)
    inputs = random_inputs(rng)
    streams = Streams(f"crash{seed}:{secrets.token_hex(4)}:")
    engine = EngineProcess(
        redis_url, streams.prefix, directory, KEY_HEX,
        CRYPTOCFD_SNAPSHOT_EVERY_EVENTS=str(rng.randint(2, 12)),
    )  # fmt: skip
    await asyncio.to_thread(engine.start)
    redis = Redis.from_url(redis_url)
    client = EngineClient(redis, streams, timeout_s=3.0)
    await client.start()
    replies: dict[str, Outcome] = {}
    unanswered: list[Command] = []
    interrupted = 0
    commands = {c.request_id: c for c in inputs if not isinstance(c, Tick)}
    ticks = {(t.asset, t.ts): t for t in inputs if isinstance(t, Tick)}
    plan = bursts(rng, inputs)
    crash_burst = rng.randrange(len(plan))
    killed = asyncio.Event()

    def kill_once() -> None:
        if not killed.is_set():
            killed.set()
            engine.kill()

    async def hunt_a_snapshot_write() -> None:
        # Every fourth seed kills the moment a snapshot's temporary file appears, if one does
        # before the planned crash: the kill then lands while the child is writing.
        while not killed.is_set():
            if any((directory / "snapshots").glob("snapshot-*.tmp")):
                kill_once()
                return
            await asyncio.sleep(HUNT_POLL_S)

    hunter = asyncio.create_task(hunt_a_snapshot_write()) if seed % 4 == 0 else None
    restarted = False
    try:
        for number, burst in enumerate(plan):
            if number == crash_burst and not killed.is_set():
                delay = rng.random() * 0.01
                asyncio.get_running_loop().call_later(delay, kill_once)
            answered = await send_burst(client, redis, streams, burst)
            if number == crash_burst:
                await killed.wait()  # the planned kill (or the hunter's) has happened
            if killed.is_set() and not restarted:
                restarted = True
                await asyncio.to_thread(engine.start)
            for rid, outcome in answered.items():
                if outcome is None:
                    interrupted += 1
                    unanswered.append(commands[rid])
                else:
                    replies[rid] = outcome
            for command in list(unanswered):
                replies[command.request_id] = await client.send(command)
                unanswered.remove(command)
        # A retry of requests answered before the crash gets the very same reply.
        for rid in rng.sample(sorted(replies), min(5, len(replies))):
            assert await client.send(commands[rid]) == replies[rid], f"seed {seed}: {rid}"
    finally:
        if hunter is not None:
            hunter.cancel()
        await client.close()
        await asyncio.to_thread(engine.stop)
    log = await read_log(redis, streams)
    await redis.aclose()

    applied = [r.request_id or "" for r in log if r.kind == "command" and r.applied]
    assert sorted(applied) == sorted(commands), f"seed {seed}: applied ids differ from sent"
    first_outcome = {r.request_id: r.outcome for r in log if r.kind == "command" and r.applied}
    for rid, outcome in replies.items():
        assert outcome == first_outcome[rid], f"seed {seed}: reply to {rid} is not the log's"
    uninterrupted = Engine()
    for item in replay_inputs(log, commands, ticks):
        uninterrupted.apply(item)
    store = SnapshotStore(directory / "snapshots", parse_key(KEY_HEX))
    final = next(iter(store.valid()))
    assert final.header.state_hash == uninterrupted.state_hash(), f"seed {seed}: state differs"
    assert Engine.from_image(final.image).state_hash() == final.header.state_hash
    torn = engine.log.read_text().count("left by a snapshot writer that died")
    return interrupted, torn


@pytest.mark.parametrize("block", range(max(1, SEEDS // BLOCK)))
async def test_engine_when_killed_at_a_random_point_loses_nothing_and_applies_nothing_twice(
    block: int, aof_redis: str, tmp_path: Path
) -> None:
    seeds = range(block * BLOCK, min(SEEDS, (block + 1) * BLOCK))
    gate = asyncio.Semaphore(AT_ONCE)

    async def guarded(seed: int) -> tuple[int, int]:
        async with gate:
            return await crash_and_recover(seed, aof_redis, tmp_path / f"seed-{seed}")

    results = await asyncio.gather(*(guarded(seed) for seed in seeds))
    # The kills must really land on requests in flight, or this proves little.
    assert sum(interrupted for interrupted, _torn in results) > 0
    print(f"seeds {seeds}: {sum(torn for _i, torn in results)} kills during a snapshot write")
