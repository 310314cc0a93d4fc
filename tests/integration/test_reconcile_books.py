"""``cryptocfd reconcile`` keeps the demo and live books apart: each kind's accounts, its
differences and the house's cash against it, never one total of both."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.core.money import Cents
from cryptocfd.services.reconcile import reconcile, render
from cryptocfd.store.ledger import cash_account, ledger_sums
from cryptocfd.trading.commands import ClosePosition, Deposit, OpenAccount, PlaceOrder, Side
from cryptocfd.trading.events import Accepted, PositionClosed, PositionOpened
from tests.integration.engine_harness import engine_and_client, store_in
from tests.integration.journal_world import (
    T0,
    TRADER,
    caught_up,
    newest_record,
    own_pool,
    quote_btc,
    running_journaler,
    trade_session,
)

LIVE = account_id_of(TRADER, AccountKind.LIVE)


async def test_reconcile_when_demo_and_live_accounts_trade_reports_each_book_apart(
    redis_client: Redis, streams: Streams, own_database_url: str, tmp_path: Path
) -> None:
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
        running_journaler(redis_client, streams, pool),
    ):
        await trade_session(redis_client, streams, service, client)
        for command in (
            OpenAccount(f"open-live-{TRADER}", T0 + 9, LIVE, Cents(0)),
            Deposit("live-deposit", T0 + 9, LIVE, Cents(200_000)),
        ):
            assert isinstance(await client.send(command), Accepted)
        opened = await client.send(
            PlaceOrder("live-buy", T0 + 9, LIVE, "BTC", Side.LONG, Cents(50_000), 5)
        )
        assert isinstance(opened, Accepted)
        position = opened.events[0]
        assert isinstance(position, PositionOpened)
        await quote_btc(redis_client, streams, service, 6_100_000, T0 + 10)
        closed = await client.send(ClosePosition("live-close", T0 + 11, LIVE, position.order_id))
        assert isinstance(closed, Accepted)
        close = closed.events[0]
        assert isinstance(close, PositionClosed)
        await caught_up(pool, redis_client, streams)
        clean = await reconcile(redis_client, streams, pool, client, wait_s=5)
        sums = await ledger_sums(pool)
        await pool.execute(
            "INSERT INTO ledger_entries (record_id, seq, line, ledger_account, amount, event, ts)"
            " VALUES ($1, 99, 0, $2, 123, 'Tampered', 0)",
            await newest_record(redis_client, streams),
            cash_account(LIVE),
        )
        tampered = await reconcile(redis_client, streams, pool, client, wait_s=5)

    demo, live = clean.books
    assert clean.clean, clean
    assert (demo.kind, demo.accounts, live.kind, live.accounts) == ("demo", 3, "live", 1)
    assert close.pnl > 0
    assert live.house == -close.pnl  # the live account's PnL alone
    assert demo.house == sums["house:cash"]
    assert sums[cash_account(LIVE)] == 200_000 + close.pnl
    assert sums["funding:live"] == -200_000  # live money never drawn from the demo funding
    assert "live book: 1 accounts" in "\n".join(render(clean))
    tampered_demo, tampered_live = tampered.books
    assert tampered_demo.differences == ()
    assert [d.what for d in tampered_live.differences] == [f"account {LIVE} balance"]
    assert tampered_live.differences[0].ledger == Cents(200_000 + close.pnl + 123)
