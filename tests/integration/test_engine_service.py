"""The engine as a service: request/reply over real Redis Streams, the log, recovery."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest
from redis.asyncio import Redis

from cryptocfd.bus.client import EngineUnavailable
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries, stream_entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    ClosePosition,
    OpenAccount,
    PlaceOrder,
    ResetDemoAccount,
    Side,
)
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.events import (
    Accepted,
    FundsWithdrawn,
    PositionClosed,
    PositionOpened,
    QuoteUpdated,
)
from cryptocfd.trading.fingerprint import fingerprinted
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Portfolio
from tests.integration.engine_harness import (
    engine_and_client,
    engine_client,
    publish_tick,
    running_engine,
    store_in,
)
from tests.waiting import until

T0 = 1_700_000_000_000


async def test_send_when_the_engine_runs_returns_each_outcome_and_logs_it(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        opened = await client.send(OpenAccount("acc", T0, 1, Cents(1_000_000)))
        await publish_tick(
            redis_client, streams, Tick("BTC", PriceTicks(6_000_000), PriceTicks(6_001_000), T0)
        )
        await until(lambda: service.engine.state.assets["BTC"].quote is not None)
        placed = await client.send(
            PlaceOrder("buy", T0 + 1, 1, "BTC", Side.LONG, Cents(10_000), 10)
        )
        refused = await client.send(PlaceOrder("bad", T0 + 1, 1, "NOPE", Side.LONG, Cents(1), 1))

    assert isinstance(opened, Accepted)
    assert isinstance(placed, Accepted)
    assert isinstance(placed.events[0], PositionOpened)
    assert isinstance(refused, Rejection)
    assert refused.code is RejectCode.UNKNOWN_ASSET
    log = [decode_record(f[FIELD]) for _i, f in entries(await redis_client.xrange(streams.records))]
    assert [(r.kind, r.request_id) for r in log] == [
        ("command", "acc"),
        ("tick", None),
        ("command", "buy"),
        ("command", "bad"),
    ]
    assert isinstance(log[1].outcome, Accepted)
    assert isinstance(log[1].outcome.events[0], QuoteUpdated)
    pending = await redis_client.xpending(streams.commands, "engine")
    assert pending["pending"] == 0  # every command was acknowledged


async def test_send_when_the_request_id_repeats_returns_the_first_outcome_unapplied(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        first = await client.send(OpenAccount("same", T0, 1, Cents(5_000)))
        again = await client.send(OpenAccount("same", T0 + 5, 1, Cents(99_999)))
        balance = service.engine.state.accounts[1].balance

    assert again == first
    assert balance == 5_000
    log = [decode_record(f[FIELD]) for _i, f in entries(await redis_client.xrange(streams.records))]
    assert [r.applied for r in log] == [True, False]


async def test_unreadable_message_when_sent_is_answered_and_the_engine_keeps_serving(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    unreadable = b"\x81\xa7command\x81\xaarequest_id\xa1x"  # {"command": {"request_id": "x"}}
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (_, client):
        await redis_client.xadd(streams.commands, {FIELD: unreadable})
        await redis_client.xadd(streams.commands, {FIELD: b"not msgpack at all \xc1"})
        await redis_client.xadd(streams.commands, {b"other": b"field"})
        after = await client.send(OpenAccount("after", T0, 3, Cents(100)))

    assert isinstance(after, Accepted)
    log = [decode_record(f[FIELD]) for _i, f in entries(await redis_client.xrange(streams.records))]
    invalid = [r for r in log if r.kind == "invalid"]
    assert [r.request_id for r in invalid] == ["x"]
    assert isinstance(invalid[0].outcome, Rejection)
    assert invalid[0].outcome.code is RejectCode.INVALID_MESSAGE


async def test_send_when_no_engine_answers_raises_engine_unavailable(
    redis_client: Redis, streams: Streams
) -> None:
    async with engine_client(redis_client, streams, timeout_s=0.2) as client:
        with pytest.raises(EngineUnavailable):
            await client.send(OpenAccount("lonely", T0, 1, Cents(1)))


async def test_restart_when_a_snapshot_and_later_records_exist_recovers_the_same_state(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    async with engine_and_client(redis_client, streams, store) as (first, client):
        await client.send(OpenAccount("a", T0, 1, Cents(1_000_000)))
        await publish_tick(
            redis_client, streams, Tick("ETH", PriceTicks(300_000), PriceTicks(300_100), T0)
        )
        await until(lambda: first.engine.state.assets["ETH"].quote is not None)
        await client.send(PlaceOrder("p1", T0 + 1, 1, "ETH", Side.SHORT, Cents(50_000), 5))
        await first.snapshot_now()  # the records after it must be replayed
        await client.send(
            PlaceOrder(
                "p2",
                T0 + 2,
                1,
                "ETH",
                Side.LONG,
                Cents(20_000),
                3,
                trailing_distance=PriceTicks(500),
            )
        )
        await publish_tick(
            redis_client, streams, Tick("ETH", PriceTicks(301_000), PriceTicks(301_100), T0 + 3)
        )
        closed = await client.send(ClosePosition("c1", T0 + 4, 1, 2))
        expected = first.engine.state_hash()

    async with engine_and_client(redis_client, streams, store) as (second, client):
        assert second.engine.state_hash() == expected
        repeat = await client.send(ClosePosition("c1", T0 + 5, 1, 2))

    assert isinstance(closed, Accepted)
    assert isinstance(closed.events[0], PositionClosed)
    assert repeat == closed


async def test_restart_when_a_demo_reset_is_in_the_log_replays_it_to_the_same_state(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    async with engine_and_client(redis_client, streams, store) as (first, client):
        await client.send(OpenAccount("a", T0, 1, DEMO_BALANCE_CENTS))
        await publish_tick(
            redis_client, streams, Tick("ETH", PriceTicks(300_000), PriceTicks(300_100), T0)
        )
        await until(lambda: first.engine.state.assets["ETH"].quote is not None)
        await client.send(PlaceOrder("p1", T0 + 1, 1, "ETH", Side.SHORT, Cents(50_000), 5))
        await first.snapshot_now()  # the reset after it must be replayed
        await publish_tick(
            redis_client, streams, Tick("ETH", PriceTicks(299_000), PriceTicks(299_100), T0 + 2)
        )
        reset, view = await client.send_with_view(ResetDemoAccount("r1", T0 + 3, 1))
        expected = first.engine.state_hash()

    async with engine_and_client(redis_client, streams, store) as (second, client):
        assert second.engine.state_hash() == expected
        repeat = await client.send(ResetDemoAccount("r1", T0 + 4, 1))

    assert isinstance(reset, Accepted)
    assert [type(e) for e in reset.events] == [PositionClosed, FundsWithdrawn]
    assert isinstance(view, Portfolio)
    assert (view.account.balance, view.account.used_margin) == (DEMO_BALANCE_CENTS, 0)
    assert repeat == reset


@pytest.mark.parametrize("from_snapshot", [True, False])
async def test_restart_when_a_key_was_spent_still_refuses_it_for_another_request(
    redis_client: Redis, streams: Streams, tmp_path: Path, *, from_snapshot: bool
) -> None:
    # The fingerprint is remembered with the outcome in the snapshot, and carried in the log's
    # record for a restart that replays it.
    store = store_in(tmp_path)
    buy = fingerprinted(PlaceOrder("u1:create:k", T0 + 1, 1, "ETH", Side.LONG, Cents(20_000), 3))
    async with engine_and_client(redis_client, streams, store) as (first, client):
        await client.send(OpenAccount("a", T0, 1, Cents(1_000_000)))
        await publish_tick(
            redis_client, streams, Tick("ETH", PriceTicks(300_000), PriceTicks(300_100), T0)
        )
        await until(lambda: first.engine.state.assets["ETH"].quote is not None)
        placed = await client.send(buy)
    if not from_snapshot:
        shutil.rmtree(tmp_path / "snapshots")  # recover from the log alone

    async with engine_and_client(redis_client, streams, store) as (second, client):
        other = await client.send(fingerprinted(msgspec.structs.replace(buy, side=Side.SHORT)))
        retry = await client.send(msgspec.structs.replace(buy, ts=T0 + 9))
        positions = len(second.engine.state.positions)

    assert (second.restored_from is not None) is from_snapshot
    assert isinstance(placed, Accepted)
    assert isinstance(other, Rejection)
    assert other.code is RejectCode.IDEMPOTENCY_KEY_REUSED
    assert retry == placed
    assert positions == 1


async def test_restart_when_the_newest_snapshot_is_tampered_with_uses_the_one_before(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    async with engine_and_client(redis_client, streams, store) as (first, client):
        await client.send(OpenAccount("a", T0, 1, Cents(1_000)))
        await first.snapshot_now()
        await client.send(OpenAccount("b", T0, 2, Cents(2_000)))
        await first.snapshot_now()
        expected = first.engine.state_hash()
    newest, older = store.paths()
    data = bytearray(newest.read_bytes())
    data[-20] ^= 0x01
    newest.write_bytes(bytes(data))

    async with running_engine(redis_client, streams, store) as second:
        assert second.restored_from == older  # then the records after it
        assert second.engine.state_hash() == expected


async def test_trim_when_the_journal_lags_keeps_what_it_and_the_snapshots_still_need(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    await redis_client.xgroup_create(streams.records, "journal", id="0", mkstream=True)
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        for n in range(10):
            await client.send(OpenAccount(f"a{n}", T0, n + 1, Cents(100)))
        await service.snapshot_now()
        for n in range(10, 15):
            await client.send(OpenAccount(f"a{n}", T0, n + 1, Cents(100)))
        # The journal has read 8 records and finished the first 6.
        read = stream_entries(
            await redis_client.xreadgroup("journal", "w1", {streams.records: ">"}, count=8)
        )
        ids = [entry_id for entry_id, _fields in read[0][1]]
        await redis_client.xack(streams.records, "journal", *ids[:6])

        await service.trim()

        kept = entries(await redis_client.xrange(streams.records))
        assert kept[0][0] == ids[6]  # the oldest unfinished
        assert len(kept) == 15 - 6
        assert await redis_client.xlen(streams.commands) == 0  # all acknowledged


async def test_trim_when_no_journal_exists_keeps_every_record(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        for n in range(5):
            await client.send(OpenAccount(f"a{n}", T0, n + 1, Cents(100)))
        await service.snapshot_now()

        await service.trim()

        assert await redis_client.xlen(streams.records) == 5
