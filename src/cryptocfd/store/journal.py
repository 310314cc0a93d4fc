"""Booking the engine's records into PostgreSQL: order history and the ledger.

A batch of records is booked in one transaction. ``journal_records`` holds the id (the stream
entry id) of every record booked, so a record delivered again books nothing: marking it and
booking it commit together. Records must be booked in stream order, because a close updates the
order its open wrote; the worker makes sure only one journaler books at a time.

For each event of an applied, accepted record:

- ``orders`` holds the order as it stands: ``pending`` (a limit or stop entry), ``open``,
  ``closed``, ``cancelled``, ``expired`` or ``rejected``, with its open data, current exits, the
  PnL realized so far, and ``closed_at``/``end_reason`` once it ended (a close reason, or
  ``cancelled``, ``expired``, or the rejection code). While open, ``quantity`` and ``margin`` are
  what remains; once closed they are what was open at the last close.
- ``closed_trades`` gets one row per close, full or partial, keyed by (record id, event index).
- ``ledger_entries`` gets the event's double-entry lines (see ``cryptocfd.store.ledger``), with
  ``seq`` the event's index in its record and ``line`` the line's index in the event.

Each ``MarginCalled`` of a newly booked record queues its email to the trader in the same
transaction (``store/margin_call_mail.py``), so a record delivered twice mails once.

Records that were not applied (repeats, unreadable inputs) or were rejected come with no
events: they are marked booked and book nothing, as they changed no state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from cryptocfd.store.database import Connection
from cryptocfd.store.ledger import ledger_lines
from cryptocfd.store.margin_call_mail import MarginCallMail
from cryptocfd.trading.events import (
    Event,
    MarginCalled,
    OrderCancelled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionModified,
    PositionOpened,
)

# (stream entry id, the events the record applied: none when it was a repeat or a rejection)
Delivered = tuple[str, tuple[Event, ...]]
LedgerRow = tuple[str, int, int, str, int, str, int | None, int]


class JournalError(Exception):
    """The records contradict what the journal booked before: a bug, or records out of order."""


async def book_records(
    pool: asyncpg.Pool, records: Sequence[Delivered], mail: MarginCallMail | None = None
) -> int:
    """Book ``records`` (in stream order) in one transaction; return how many were new. With
    ``mail``, each margin call of a new record queues its email."""
    if not records:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "INSERT INTO journal_records (record_id) SELECT unnest($1::text[])"
            " ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
            [record_id for record_id, _ in records],
        )
        new = {str(row["record_id"]) for row in rows}
        ledger: list[LedgerRow] = []
        for record_id, events in records:
            if record_id in new:
                for seq, event in enumerate(events):
                    ledger.extend(await _book_event(conn, record_id, seq, event))
                    if mail is not None and isinstance(event, MarginCalled):
                        await mail.enqueue(conn, event)
        if ledger:
            await conn.executemany(
                "INSERT INTO ledger_entries"
                " (record_id, seq, line, ledger_account, amount, event, order_id, ts)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                ledger,
            )
    return len(new)


async def _book_event(conn: Connection, record_id: str, seq: int, event: Event) -> list[LedgerRow]:
    """Update ``orders``/``closed_trades`` for ``event`` and return its ledger rows."""
    reserved = 0
    if isinstance(event, OrderPlaced):
        await _order_placed(conn, event)
    elif isinstance(event, PositionOpened):
        reserved = await _position_opened(conn, event)
    elif isinstance(event, PositionModified):
        await _update_order(
            conn,
            event.order_id,
            "take_profit = $2, stop_loss = $3, trailing_distance = $4",
            event.take_profit,
            event.stop_loss,
            event.trailing_distance,
        )
    elif isinstance(event, PositionClosed):
        await _position_closed(conn, record_id, seq, event)
    elif isinstance(event, OrderCancelled | OrderExpired | OrderRejected):
        await _order_ended(conn, event)
    order_id = getattr(event, "order_id", None)
    name = type(event).__name__
    lines = ledger_lines(event, reserved)
    return [
        (record_id, seq, line, account, amount, name, order_id, event.ts)
        for line, (account, amount) in enumerate(lines)
    ]


async def _order_placed(conn: Connection, e: OrderPlaced) -> None:
    await conn.execute(
        "INSERT INTO orders (order_id, account_id, asset, side, order_type, status, margin,"
        " leverage, price, take_profit, stop_loss, trailing_distance, placed_at, expires_at,"
        " quantity)"
        " VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        e.order_id,
        e.account_id,
        e.asset,
        e.side.value,
        e.order_type.value,
        e.margin,
        e.leverage,
        e.price,
        e.take_profit,
        e.stop_loss,
        e.trailing_distance,
        e.ts,
        e.expires_at,
        e.quantity,  # set for an entry sized by quantity; the fill sets it for the others
    )


async def _position_opened(conn: Connection, e: PositionOpened) -> int:
    """Open the order (a market order is new; a pending one fills); return the margin the
    pending entry had reserved."""
    pending = await conn.fetchval(
        "SELECT margin FROM orders WHERE order_id = $1 AND status = 'pending'", e.order_id
    )
    await conn.execute(
        "INSERT INTO orders (order_id, account_id, asset, side, order_type, status, margin,"
        " leverage, quantity, open_price, liquidation_price, take_profit, stop_loss,"
        " trailing_distance, placed_at, opened_at)"
        " VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
        " ON CONFLICT (order_id) DO UPDATE SET status = 'open', margin = EXCLUDED.margin,"
        " leverage = EXCLUDED.leverage, quantity = EXCLUDED.quantity,"
        " open_price = EXCLUDED.open_price, liquidation_price = EXCLUDED.liquidation_price,"
        " take_profit = EXCLUDED.take_profit, stop_loss = EXCLUDED.stop_loss,"
        " trailing_distance = EXCLUDED.trailing_distance, opened_at = EXCLUDED.opened_at"
        " WHERE orders.status = 'pending'",
        e.order_id,
        e.account_id,
        e.asset,
        e.side.value,
        e.order_type.value,
        e.margin,
        e.leverage,
        e.quantity,
        e.open_price,
        e.liquidation_price,
        e.take_profit,
        e.stop_loss,
        e.trailing_distance,
        e.ts,
    )
    return 0 if pending is None else int(pending)


async def _position_closed(conn: Connection, record_id: str, seq: int, e: PositionClosed) -> None:
    remains = e.remaining_quantity > 0
    opened = await _update_order(
        conn,
        e.order_id,
        "status = $2, quantity = CASE WHEN $3 THEN $4 ELSE quantity END,"
        " margin = CASE WHEN $3 THEN $5 ELSE margin END,"
        " liquidation_price = coalesce($6, liquidation_price),"
        " realized_pnl = realized_pnl + $7, closed_at = $8, end_reason = $9",
        "open" if remains else "closed",
        remains,
        e.remaining_quantity,
        e.remaining_margin,
        e.liquidation_price,
        e.pnl,
        None if remains else e.ts,
        None if remains else e.reason.value,
    )
    await conn.execute(
        "INSERT INTO closed_trades (record_id, seq, order_id, account_id, asset, side, leverage,"
        " quantity, margin, open_price, close_price, pnl, reason, opened_at, closed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        record_id,
        seq,
        e.order_id,
        e.account_id,
        e.asset,
        e.side.value,
        opened["leverage"],
        e.quantity,
        e.margin,
        e.open_price,
        e.close_price,
        e.pnl,
        e.reason.value,
        opened["opened_at"],
        e.ts,
    )


async def _order_ended(conn: Connection, e: OrderCancelled | OrderExpired | OrderRejected) -> None:
    if isinstance(e, OrderRejected):
        status, reason = "rejected", e.code
    else:
        status = reason = "cancelled" if isinstance(e, OrderCancelled) else "expired"
    await _update_order(
        conn, e.order_id, "status = $2, closed_at = $3, end_reason = $4", status, e.ts, reason
    )


async def _update_order(
    conn: Connection, order_id: int, assignments: str, *values: Any
) -> asyncpg.Record:
    """``UPDATE orders SET {assignments}`` for one order ($1 is its id); it must exist."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"UPDATE orders SET {assignments} WHERE order_id = $1 RETURNING leverage, opened_at",  # noqa: S608 - assignments are literals in this module
        order_id,
        *values,
    )
    if row is None:
        raise JournalError(f"order {order_id} is not in the journal: records out of order?")
    return row
