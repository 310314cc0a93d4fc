"""The journal against a real engine: order history and a double-entry ledger that matches the
engine to the cent, booked once however often the records are delivered."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.core.money import Cents
from cryptocfd.services.journaling import Journaler, applied_events
from cryptocfd.services.reconcile import reconcile
from cryptocfd.services.worker import run_worker
from cryptocfd.settings import Settings
from cryptocfd.store.journal import book_records
from cryptocfd.store.ledger import (
    HOUSE_CASH,
    cash_account,
    ledger_sums,
    margin_account,
    reserve_account,
    withdrawal_account,
    withdrawal_reserve_account,
)
from cryptocfd.trading.commands import HoldWithdrawal, OpenAccount, PayWithdrawal, ReleaseWithdrawal
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.queries import GetBalances, GetPortfolio
from cryptocfd.trading.views import Portfolio
from tests.integration.engine_harness import engine_and_client, store_in
from tests.integration.journal_world import (
    GAMBLER,
    T0,
    TRADER,
    WAITER,
    caught_up,
    own_pool,
    quantity_entries,
    running_journaler,
    trade_session,
)
from tests.waiting import until

TABLES = ("journal_records", "orders", "closed_trades", "ledger_entries")


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {table: await pool.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}  # noqa: S608


async def _assert_ledger_matches_engine(pool: asyncpg.Pool, client: EngineClient) -> None:
    sums = await ledger_sums(pool)
    for account_id in (TRADER, WAITER, GAMBLER):
        view = await client.portfolio(GetPortfolio(f"view-{account_id}", account_id))
        assert isinstance(view, Portfolio)
        assert sums.get(cash_account(account_id), 0) == view.account.balance
        assert sums.get(margin_account(account_id), 0) == view.account.used_margin
    balances = await client.balances(GetBalances("house"))
    assert sums.get(HOUSE_CASH, 0) == balances.house_balance


async def test_worker_when_a_session_is_journaled_books_history_and_a_ledger_matching_the_engine(
    redis_client: Redis, streams: Streams, redis_url: str, own_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        redis_url=redis_url, redis_prefix=streams.prefix, database_url=own_database_url
    )
    stopping = asyncio.Event()
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
    ):
        worker = asyncio.create_task(run_worker(settings, stopping))
        session = await trade_session(redis_client, streams, service, client)
        await caught_up(pool, redis_client, streams)
        orders = {r["order_id"]: r for r in await pool.fetch("SELECT * FROM orders")}
        trades = await pool.fetch("SELECT * FROM closed_trades ORDER BY closed_at, seq")
        unbalanced = await pool.fetch(
            "SELECT record_id, seq FROM ledger_entries GROUP BY 1, 2 HAVING sum(amount) <> 0"
        )
        await _assert_ledger_matches_engine(pool, client)
        report = await reconcile(redis_client, streams, pool, client, wait_s=5)
        stopping.set()
        await worker

    parts = orders[session.closed_in_parts]
    assert (parts["status"], parts["end_reason"], parts["leverage"]) == ("closed", "closed", 10)
    assert (parts["take_profit"], parts["stop_loss"]) == (6_600_000, 5_750_000)
    assert (orders[session.cancelled]["status"], orders[session.cancelled]["price"]) == (
        "cancelled",
        5_000_000,
    )
    filled = orders[session.filled]
    assert (filled["status"], filled["order_type"], filled["closed_at"]) == ("open", "limit", None)
    assert filled["quantity"] > 0 and filled["opened_at"] is not None
    liquidated = orders[session.liquidated]
    assert (liquidated["status"], liquidated["end_reason"]) == ("closed", "liquidated")
    assert len(orders) == 4  # the rejected order left no row

    by_order = [(t["order_id"], t["reason"], t["leverage"]) for t in trades]
    assert sorted(by_order) == sorted(
        [
            (session.closed_in_parts, "closed", 10),
            (session.closed_in_parts, "closed", 10),
            (session.liquidated, "liquidated", 100),
        ]
    )
    halves = [t for t in trades if t["order_id"] == session.closed_in_parts]
    assert [t["margin"] for t in halves] == [50_000, 50_000]  # half of 100,000 each time
    assert halves[-1]["quantity"] == parts["quantity"]  # the last close took what remained
    assert sum(t["pnl"] for t in halves) == parts["realized_pnl"]
    (stopped_out,) = [t for t in trades if t["order_id"] == session.liquidated]
    assert -10_000 <= stopped_out["pnl"] < -5_000  # past maintenance, never beyond the margin
    assert unbalanced == []
    assert report.clean, report


async def test_book_when_the_same_records_are_delivered_twice_books_nothing_new(
    redis_client: Redis, streams: Streams, own_database_url: str, tmp_path: Path
) -> None:
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
    ):
        async with running_journaler(redis_client, streams, pool):
            await trade_session(redis_client, streams, service, client)
            await caught_up(pool, redis_client, streams)
        before = await _counts(pool)
        every = [
            (i.decode(), applied_events(decode_record(f[FIELD])))
            for i, f in entries(await redis_client.xrange(streams.records))
        ]
        booked_again = await book_records(pool, every)
        booked_twice_in_one_batch = await book_records(pool, every[-3:] + every[-3:])
        after = await _counts(pool)
        await _assert_ledger_matches_engine(pool, client)

    assert before["journal_records"] == len(every)
    assert (booked_again, booked_twice_in_one_batch) == (0, 0)
    assert after == before


async def test_journaler_when_killed_after_booking_before_ack_books_nothing_twice_on_restart(
    redis_client: Redis, streams: Streams, own_database_url: str, tmp_path: Path
) -> None:
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
    ):
        await trade_session(redis_client, streams, service, client)
        doomed = Journaler(redis_client, streams, pool, batch=10)
        await doomed.ensure_group()
        first = await doomed.read_batch(pending=False)
        await doomed.book(first)  # ... and it dies here, before XACK
        pending_at_crash = (await redis_client.xpending(streams.records, JOURNAL_GROUP))["pending"]
        booked_at_crash = await _counts(pool)

        async with running_journaler(redis_client, streams, pool) as restarted:
            await caught_up(pool, redis_client, streams)

            async def all_acked() -> dict[str, Any] | None:
                pending = await redis_client.xpending(streams.records, JOURNAL_GROUP)
                return pending if pending["pending"] == 0 else None

            pending = await until(all_acked)
        total = await redis_client.xlen(streams.records)
        after = await _counts(pool)
        await _assert_ledger_matches_engine(pool, client)

    assert pending_at_crash == len(first) == 10
    assert booked_at_crash["journal_records"] == 10
    assert restarted.booked == total - 10  # the re-delivered ten booked nothing
    assert after["journal_records"] == total
    assert pending["pending"] == 0


async def test_journal_when_quantity_entries_fill_away_from_their_prices_books_the_fill_s_margin(
    redis_client: Redis, streams: Streams, own_database_url: str, tmp_path: Path
) -> None:
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
        running_journaler(redis_client, streams, pool),
    ):
        stop, limit = await quantity_entries(redis_client, streams, service, client)
        await caught_up(pool, redis_client, streams)
        orders = {r["order_id"]: r for r in await pool.fetch("SELECT * FROM orders")}
        sums = await ledger_sums(pool)
        view = await client.portfolio(GetPortfolio("view-q", TRADER))
        report = await reconcile(redis_client, streams, pool, client, wait_s=5)

    filled = [orders[order_id] for order_id in (stop, limit)]
    # The margin of 0.01 at 20x at each fill's price (the ask, with the house's markup), rounded
    # up to the cent: the stop's is above the 30.05 it reserved, the limit's below its 30.25.
    margins = [-(-row["open_price"] // 2_000) for row in filled]
    assert [row["status"] for row in filled] == ["open", "open"]
    assert filled[0]["open_price"] > 6_100_000 and filled[1]["open_price"] < 6_000_000
    assert [row["margin"] for row in filled] == margins
    assert margins[0] > 3_005 and margins[1] < 3_025
    assert isinstance(view, Portfolio)
    assert view.account.used_margin == sums[margin_account(TRADER)] == sum(margins)
    assert view.account.balance == sums[cash_account(TRADER)] == 1_000_000
    assert sums[reserve_account(TRADER)] == -sum(margins)
    assert report.clean, report


async def test_journal_when_withdrawals_are_held_released_and_paid_books_them_and_reconciles(
    redis_client: Redis, streams: Streams, own_database_url: str, tmp_path: Path
) -> None:
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (_, client),
        own_pool(own_database_url) as pool,
        running_journaler(redis_client, streams, pool),
    ):
        for command in (
            OpenAccount("open-w", T0, TRADER, Cents(100_000)),
            HoldWithdrawal("hold-1", T0, TRADER, 1, Cents(30_000)),
            HoldWithdrawal("hold-2", T0, TRADER, 2, Cents(20_000)),
            HoldWithdrawal("hold-3", T0, TRADER, 3, Cents(10_000)),
            ReleaseWithdrawal("release-2", T0, TRADER, 2),
            PayWithdrawal("pay-1", T0, TRADER, 1),
        ):
            assert isinstance(await client.send(command), Accepted), command
        await caught_up(pool, redis_client, streams)
        sums = await ledger_sums(pool)
        view = await client.portfolio(GetPortfolio("view-w", TRADER))
        report = await reconcile(redis_client, streams, pool, client, wait_s=5)

    assert isinstance(view, Portfolio)
    assert (view.account.balance, view.account.withdrawals_held) == (70_000, 10_000)
    assert view.account.free_margin == 60_000
    assert sums[cash_account(TRADER)] == 70_000
    assert sums[withdrawal_account(TRADER)] == 10_000 == -sums[withdrawal_reserve_account(TRADER)]
    assert report.clean, report
