"""Queries: read-only views answered on their own stream, never logged, never replayed."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.messages import ANSWER_VERSION, FIELD, decode_answer, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.core.accounts import AccountKind
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.engine.service import EngineService
from cryptocfd.trading.commands import (
    AssetMode,
    ClosePosition,
    OpenAccount,
    OrderType,
    PlaceOrder,
    SetAssetControls,
    Side,
)
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.queries import GetBalances, GetPortfolio, GetRisk
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Balances, Portfolio, Risk
from tests.integration.engine_harness import engine_and_client, publish_tick, store_in
from tests.waiting import until

T0 = 1_700_000_000_000


async def _account_and_btc_quote(
    redis: Redis, streams: Streams, service: EngineService, client: EngineClient
) -> None:
    """Account 7 with 10,000.00, and a BTC quote the engine has applied."""
    await client.send(OpenAccount("acc", T0, 7, Cents(1_000_000)))
    await publish_tick(
        redis, streams, Tick("BTC", PriceTicks(6_000_000), PriceTicks(6_001_000), T0)
    )
    await until(lambda: service.engine.state.assets["BTC"].quote is not None)


async def test_portfolio_when_sent_after_commands_shows_their_effect_and_logs_nothing(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        await _account_and_btc_quote(redis_client, streams, service, client)
        opened = await client.send(
            PlaceOrder("buy", T0 + 1, 7, "BTC", Side.LONG, Cents(10_000), 10)
        )
        await client.send(
            PlaceOrder(
                "lim",
                T0 + 2,
                7,
                "BTC",
                Side.SHORT,
                Cents(5_000),
                2,
                OrderType.LIMIT,
                PriceTicks(7_000_000),
            )
        )
        records_before = await redis_client.xlen(streams.records)
        view = await client.portfolio(GetPortfolio("q1", 7))
        records_after = await redis_client.xlen(streams.records)

    assert isinstance(opened, Accepted)
    assert isinstance(view, Portfolio)
    assert [p.order_id for p in view.positions] == [opened.events[0].order_id]  # type: ignore[union-attr]
    position = view.positions[0]
    assert (position.asset, position.side, position.margin, position.leverage) == (
        "BTC",
        Side.LONG,
        10_000,
        10,
    )
    assert [(o.order_type, o.price, o.margin) for o in view.pending] == [
        (OrderType.LIMIT, 7_000_000, 5_000)
    ]
    assert view.account.used_margin == 15_000
    assert view.account.balance == 1_000_000
    assert view.account.equity == 1_000_000 + position.unrealized_pnl
    assert records_after == records_before  # a query is not an event


async def test_portfolio_when_the_account_is_unknown_is_rejected(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (_service, client):
        view = await client.portfolio(GetPortfolio("q-unknown", 404))

    assert isinstance(view, Rejection)
    assert view.code is RejectCode.UNKNOWN_ACCOUNT


async def test_balances_when_paged_lists_every_account_once_in_id_order(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (_service, client):
        for account_id in (5, 1, 3):
            await client.send(
                OpenAccount(f"acc-{account_id}", T0, account_id, Cents(account_id * 100))
            )
        first = await client.balances(GetBalances("b1", 0, 2))
        second = await client.balances(GetBalances("b2", first.rows[-1].account_id, 2))

    assert isinstance(first, Balances)
    assert [(r.account_id, r.balance) for r in first.rows + second.rows] == [
        (1, 100),
        (3, 300),
        (5, 500),
    ]
    assert first.house_balance == 0


async def test_portfolio_when_narrowed_lists_one_order_or_none(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        await _account_and_btc_quote(redis_client, streams, service, client)
        for n in range(3):
            await client.send(PlaceOrder(f"buy{n}", T0 + 1, 7, "BTC", Side.LONG, Cents(1_000), 2))
        everything = await client.portfolio(GetPortfolio("all", 7))
        one = await client.portfolio(GetPortfolio("one", 7, order_id=2))
        figures = await client.portfolio(GetPortfolio("figures", 7, orders=False))
        foreign = await client.portfolio(GetPortfolio("foreign", 8, order_id=2))

    assert isinstance(everything, Portfolio)
    assert isinstance(one, Portfolio)
    assert isinstance(figures, Portfolio)
    assert [p.order_id for p in everything.positions] == [1, 2, 3]
    assert [p.order_id for p in one.positions] == [2]
    assert figures.positions == ()
    assert figures.account == everything.account == one.account
    assert isinstance(foreign, Rejection)  # account 8 does not exist, let alone own order 2


async def test_send_with_view_when_an_order_opens_answers_with_that_order_in_one_trip(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        await _account_and_btc_quote(redis_client, streams, service, client)
        await client.send(PlaceOrder("first", T0 + 1, 7, "BTC", Side.LONG, Cents(1_000), 2))
        commands_before = await redis_client.xlen(streams.commands)
        outcome, view = await client.send_with_view(
            PlaceOrder("second", T0 + 2, 7, "BTC", Side.SHORT, Cents(2_000), 3)
        )
        refused, refused_view = await client.send_with_view(
            PlaceOrder("bad", T0 + 3, 7, "BTC", Side.SHORT, Cents(10**9), 3)
        )
        commands_after = await redis_client.xlen(streams.commands)

    assert isinstance(outcome, Accepted)
    assert isinstance(view, Portfolio)
    assert [(p.order_id, p.side, p.margin) for p in view.positions] == [(2, Side.SHORT, 2_000)]
    assert view.account.used_margin == 3_000
    assert isinstance(refused, Rejection)
    assert isinstance(refused_view, Portfolio)  # the account as it stands, nothing narrowed in
    assert refused_view.positions == ()
    assert commands_after - commands_before == 2  # one message per command, view included


async def test_send_with_view_when_answered_writes_one_answer_under_the_request_id_with_both(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        await _account_and_btc_quote(redis_client, streams, service, client)
        answers_before = await redis_client.xlen(streams.views)
        outcome, view = await client.send_with_view(
            PlaceOrder("viewed", T0 + 1, 7, "BTC", Side.LONG, Cents(1_000), 2)
        )
        answers = entries(await redis_client.xrange(streams.views))[answers_before:]
        records = [
            decode_record(f[FIELD]) for _, f in entries(await redis_client.xrange(streams.records))
        ]

    (answer,) = [decode_answer(fields[FIELD]) for _, fields in answers]
    (record,) = [r for r in records if r.request_id == "viewed"]
    assert answer.request_id == "viewed"
    assert answer.v == ANSWER_VERSION
    assert answer.outcome == record.outcome == outcome
    assert answer.result == view
    assert isinstance(view, Portfolio)
    assert [p.order_id for p in view.positions] == [1]


async def test_send_with_view_when_repeated_answers_the_first_outcome_and_the_view_now(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        await _account_and_btc_quote(redis_client, streams, service, client)
        first, first_view = await client.send_with_view(
            PlaceOrder("again", T0 + 1, 7, "BTC", Side.LONG, Cents(1_000), 2)
        )
        closed = await client.send(ClosePosition("close", T0 + 2, 7, 1))
        second, second_view = await client.send_with_view(
            PlaceOrder("again", T0 + 3, 7, "BTC", Side.LONG, Cents(1_000), 2)
        )

    assert isinstance(closed, Accepted)
    assert second == first
    assert isinstance(first_view, Portfolio)
    assert isinstance(second_view, Portfolio)
    assert [p.order_id for p in first_view.positions] == [1]
    assert second_view.positions == ()  # the position the first outcome opened is closed now


async def test_risk_when_asked_after_trades_and_controls_answers_the_house_figures(
    redis_client: Redis, streams: Streams, tmp_path: Path
) -> None:
    async with engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client):
        await _account_and_btc_quote(redis_client, streams, service, client)
        await client.send(PlaceOrder("buy", T0 + 1, 7, "BTC", Side.LONG, Cents(10_000), 10))
        halted = await client.send(SetAssetControls("halt", T0 + 2, "BTC", AssetMode.HALTED))
        refused = await client.send(
            PlaceOrder("buy2", T0 + 3, 7, "BTC", Side.LONG, Cents(10_000), 10)
        )
        records_before = await redis_client.xlen(streams.records)
        demo = await client.risk(GetRisk("r1", AccountKind.DEMO, T0 + 3))
        live = await client.risk(GetRisk("r2", AccountKind.LIVE, T0 + 3))
        records_after = await redis_client.xlen(streams.records)

    assert isinstance(halted, Accepted)
    assert isinstance(refused, Rejection)
    assert refused.code is RejectCode.ASSET_HALTED
    assert isinstance(demo, Risk)
    btc = next(row for row in demo.assets if row.asset == "BTC")
    assert btc.long_quantity > 0
    assert btc.short_quantity == 0
    assert btc.mark == 6_000_500
    notional = int(btc.long_quantity) * 6_000_500 // 10**8  # the quantity at the mark, in cents
    assert (btc.gross_notional, btc.net_notional) == (notional, notional)
    assert all((row.long_quantity, row.short_quantity) == (0, 0) for row in live.assets)
    assert records_after == records_before  # a query is not an event
