"""A trader's history: closed trades, newest first, a page at a time, and each order as the
journal booked it last.

Pages are keyset-paginated on ``(closed_at, record_id, seq)``, the order of the
``closed_trades_by_account`` index, so a page costs the same however deep it is and a close
booked while someone pages never shifts a row onto two pages. The cursor is the last row's key
as ``closed_at.record_id.seq``: ``CURSOR_PATTERN`` states it, so the API document can say
exactly which cursors are well formed (any of them pages on from its key, a forged one too:
the query is parameterized and scoped to the caller's account).
"""

from __future__ import annotations

import re

import asyncpg
import msgspec

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits

MAX_LIMIT = 500
# Digit counts keep every part in range: closed_at below 2**63, seq below 2**31.
CURSOR_PATTERN = r"^([0-9]{1,18})\.([0-9]{1,20}-[0-9]{1,20})\.([0-9]{1,9})$"
_CURSOR = re.compile(CURSOR_PATTERN)


class InvalidCursor(ValueError):  # noqa: N818 - named for the error code it maps to
    """The cursor was not one this module handed out (the gateway answers 400)."""

    code = "INVALID_CURSOR"


class ClosedTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One close, full or partial: amounts in cents, quantity in 1e-8 units, prices in ticks,
    times in unix milliseconds. The exits and liquidation price are the order's as they last
    stood."""

    order_id: int
    asset: str
    side: str
    leverage: int
    quantity: QtyUnits
    margin: Cents
    open_price: PriceTicks
    close_price: PriceTicks
    pnl: Cents
    close_reason: str
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    liquidation_price: PriceTicks | None
    opened_at: int
    closed_at: int


class ClosedTradesPage(msgspec.Struct, frozen=True):
    """A page of closed trades and the cursor of the next page (``None`` on the last)."""

    items: tuple[ClosedTrade, ...]
    next_cursor: str | None


def encode_cursor(closed_at: int, record_id: str, seq: int) -> str:
    """The cursor that continues after the row with this key."""
    return f"{closed_at}.{record_id}.{seq}"


def decode_cursor(cursor: str) -> tuple[int, str, int]:
    """The key a cursor holds, or ``InvalidCursor``."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidCursor("the cursor is not valid")
    return int(match[1]), match[2], int(match[3])


_COLUMNS = (
    "t.record_id, t.seq, t.order_id, t.asset, t.side, t.leverage, t.quantity, t.margin,"
    " t.open_price, t.close_price, t.pnl, t.reason, o.take_profit, o.stop_loss,"
    " o.trailing_distance, o.liquidation_price, t.opened_at, t.closed_at"
)
_FROM = "FROM closed_trades t LEFT JOIN orders o ON o.order_id = t.order_id"
_ORDER = "ORDER BY t.closed_at DESC, t.record_id DESC, t.seq DESC"


async def closed_trades_page(
    pool: asyncpg.Pool,
    account_id: int,
    cursor: str | None,
    limit: int,
    asset: str | None = None,
) -> ClosedTradesPage:
    """Up to ``limit`` (1..``MAX_LIMIT``, clamped) of the account's closes (of ``asset`` only,
    if given), newest first, after ``cursor`` (``None`` for the first page)."""
    limit = min(max(limit, 1), MAX_LIMIT)
    only = "AND ($2::text IS NULL OR t.asset = $2)"
    if cursor is None:
        rows = await pool.fetch(
            f"SELECT {_COLUMNS} {_FROM} WHERE t.account_id = $1 {only} {_ORDER} LIMIT $3",
            account_id,
            asset,
            limit + 1,
        )
    else:
        closed_at, record_id, seq = decode_cursor(cursor)
        rows = await pool.fetch(
            f"SELECT {_COLUMNS} {_FROM} WHERE t.account_id = $1 {only}"
            f" AND (t.closed_at, t.record_id, t.seq) < ($3, $4, $5) {_ORDER} LIMIT $6",
            account_id,
            asset,
            closed_at,
            record_id,
            seq,
            limit + 1,
        )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last["closed_at"], last["record_id"], last["seq"])
    return ClosedTradesPage(tuple(_trade(row) for row in page), next_cursor)


def _trade(row: asyncpg.Record) -> ClosedTrade:
    return ClosedTrade(
        order_id=row["order_id"],
        asset=row["asset"],
        side=row["side"],
        leverage=row["leverage"],
        quantity=row["quantity"],
        margin=row["margin"],
        open_price=row["open_price"],
        close_price=row["close_price"],
        pnl=row["pnl"],
        close_reason=row["reason"],
        take_profit=row["take_profit"],
        stop_loss=row["stop_loss"],
        trailing_distance=row["trailing_distance"],
        liquidation_price=row["liquidation_price"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
    )


class JournaledOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the journal booked it last: ``status`` is ``pending``, ``open``, ``closed``,
    ``cancelled``, ``expired`` or ``rejected``; ``end_reason`` why it ended (a close's reason,
    ``cancelled``, ``expired``, or a rejection's code)."""

    order_id: int
    asset: str
    side: str
    order_type: str
    status: str
    margin: Cents
    leverage: int
    price: PriceTicks | None
    quantity: QtyUnits | None
    open_price: PriceTicks | None
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    liquidation_price: PriceTicks | None
    realized_pnl: Cents
    placed_at: int
    opened_at: int | None
    closed_at: int | None
    end_reason: str | None


async def journaled_order(
    pool: asyncpg.Pool, account_id: int, order_id: int
) -> JournaledOrder | None:
    """The account's order ``order_id`` as journaled (``None``: not this account's, or not
    booked yet)."""
    row = await pool.fetchrow(
        "SELECT order_id, asset, side, order_type, status, margin, leverage, price, quantity,"
        " open_price, take_profit, stop_loss, trailing_distance, liquidation_price,"
        " realized_pnl, placed_at, opened_at, closed_at, end_reason"
        " FROM orders WHERE order_id = $1 AND account_id = $2",
        order_id,
        account_id,
    )
    return None if row is None else JournaledOrder(**dict(row))
