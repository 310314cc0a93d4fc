"""Closed-trade history: newest first, a page at a time, with a cursor that cannot be forged
into a query."""

from __future__ import annotations

import pytest

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.store.history import InvalidCursor, closed_trades_page, encode_cursor
from cryptocfd.store.journal import book_records
from cryptocfd.trading.commands import OrderType, Side
from cryptocfd.trading.events import AccountOpened, CloseReason, PositionClosed, PositionOpened
from tests.integration.journal_world import own_pool

T0 = 1_700_000_000_000


def _open(order_id: int, account_id: int, ts: int) -> PositionOpened:
    return PositionOpened(
        order_id, account_id, "ETH", Side.SHORT, OrderType.MARKET, Cents(1_000), 5,
        QtyUnits(100_000),
        PriceTicks(300_000), PriceTicks(350_000), None, PriceTicks(250_000), None, ts,
    )  # fmt: skip


def _close(
    order_id: int, account_id: int, ts: int, quantity: int = 100_000, remaining: int = 0
) -> PositionClosed:
    return PositionClosed(
        order_id, account_id, "ETH", Side.SHORT, CloseReason.STOP_LOSS, QtyUnits(quantity),
        Cents(1_000), PriceTicks(300_000), PriceTicks(310_000), Cents(-100 - order_id),
        QtyUnits(remaining), Cents(0 if not remaining else 500),
        PriceTicks(350_000) if remaining else None, ts,
    )  # fmt: skip


async def test_history_when_paged_lists_every_close_newest_first_with_a_working_cursor(
    own_database_url: str,
) -> None:
    # Account 1: five orders closed at T0+1..T0+5, order 3 in two parts in one record (a tie on
    # closed_at, broken by seq), and account 2's close that must not show.
    async with own_pool(own_database_url) as pool:
        await book_records(
            pool,
            [
                ("1-0", (AccountOpened(1, Cents(10**6), T0), AccountOpened(2, Cents(10**6), T0))),
                ("2-0", (*(_open(i, 1, T0) for i in range(1, 6)), _open(9, 2, T0))),
                ("3-0", (_close(1, 1, T0 + 1), _close(2, 1, T0 + 2), _close(9, 2, T0 + 2))),
                ("4-0", (_close(3, 1, T0 + 3, 60_000, 40_000), _close(3, 1, T0 + 3, 40_000))),
                ("5-0", (_close(5, 1, T0 + 5), _close(4, 1, T0 + 4))),
            ],
        )
        pages = [await closed_trades_page(pool, 1, None, 2)]
        while pages[-1].next_cursor is not None:
            pages.append(await closed_trades_page(pool, 1, pages[-1].next_cursor, 2))
        whole = await closed_trades_page(pool, 1, None, 100)

    seen = [(t.order_id, t.closed_at, t.quantity) for page in pages for t in page.items]
    assert seen == [
        (5, T0 + 5, 100_000),
        (4, T0 + 4, 100_000),
        (3, T0 + 3, 40_000),  # the rest of order 3 (seq 1) is newer than its first part
        (3, T0 + 3, 60_000),
        (2, T0 + 2, 100_000),
        (1, T0 + 1, 100_000),
    ]
    assert [len(p.items) for p in pages] == [2, 2, 2]
    assert whole.next_cursor is None and [t.order_id for t in whole.items] == [5, 4, 3, 3, 2, 1]
    first = whole.items[0]
    assert (first.side, first.leverage, first.close_reason, first.pnl) == (
        "short",
        5,
        "stop_loss",
        -105,
    )
    assert (first.stop_loss, first.liquidation_price, first.opened_at) == (250_000, 350_000, T0)
    assert (first.open_price, first.close_price) == (300_000, 310_000)


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor!", "", "AAAA", encode_cursor(-1, "1-0", 0), "kw"],
)
async def test_history_when_the_cursor_is_bad_raises_invalid_cursor(
    database_url: str, cursor: str
) -> None:
    async with own_pool(database_url) as pool:
        with pytest.raises(InvalidCursor) as raised:
            await closed_trades_page(pool, 1, cursor, 10)

    assert raised.value.code == "INVALID_CURSOR"
    assert isinstance(raised.value, ValueError)
