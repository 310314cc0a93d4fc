"""The double-entry ledger: which accounts an event moves money between, and reading it back.

Every event that moves money books lines whose amounts sum to zero (cents, signed):

- ``account:{id}:cash`` is the trader's balance: its lines sum to the engine's ``balance``.
  An opening balance or a deposit is credited to it from ``funding:demo`` (demo money comes
  from nowhere real, and a withdrawal goes back there); a close credits the PnL to it from
  ``house:cash``, whose lines therefore sum to the engine's ``house_balance``.
- A live account (its id says so, ``core.accounts``) books the same lines against the live
  house and funding accounts, ``house:live:cash`` and ``funding:live``: demo and live money
  are never one figure, and each kind's books sum to zero on their own. The engine keeps one
  ``house_balance``: the sum of the two house accounts.
- ``account:{id}:margin`` is margin in use: its lines sum to the engine's ``used_margin``. The
  other side is ``account:{id}:margin_reserve``, so reserving margin moves no cash, as the engine
  does (MetaTrader's model). A pending entry reserves its margin when placed and releases it when
  cancelled, expired or rejected; a market open reserves it when it fills; a fill of a pending
  entry reserves only what differs from what the entry held (nothing, today); a close, full or
  partial, releases the margin it frees.
- ``account:{id}:withdrawal_held`` is what the account holds for withdrawals: its lines sum
  to the engine's ``held``, the other side being ``account:{id}:withdrawal_reserve``, so a hold
  moves no cash either. A release undoes the hold; a payment undoes it and moves the cents from
  the trader's cash back to the funding account, as a withdrawal does.

Events that move no money (``QuoteUpdated``, ``TickHeld``, ``PositionModified``,
``MarginCalled``) book no lines, and neither does a zero amount. A line's ``amount`` is positive
when it increases the ledger account it names.
"""

from __future__ import annotations

import asyncpg

from cryptocfd.core.accounts import AccountKind, kind_of
from cryptocfd.core.money import Cents
from cryptocfd.trading.events import (
    AccountOpened,
    Event,
    FundsDeposited,
    FundsWithdrawn,
    OrderCancelled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionOpened,
    WithdrawalHeld,
    WithdrawalPaid,
    WithdrawalReleased,
)


def funding_account(kind: AccountKind) -> str:
    """Where the money of ``kind``'s openings, deposits and withdrawals comes from and goes."""
    return "funding:demo" if kind is AccountKind.DEMO else "funding:live"


def house_account(kind: AccountKind) -> str:
    """The house's cash against ``kind``'s accounts: the other side of their PnL."""
    return "house:cash" if kind is AccountKind.DEMO else "house:live:cash"


FUNDING = funding_account(AccountKind.DEMO)
HOUSE_CASH = house_account(AccountKind.DEMO)
HOUSE_ACCOUNTS = tuple(house_account(kind) for kind in AccountKind)

Line = tuple[str, Cents]  # (ledger account, signed amount)


def cash_account(account_id: int) -> str:
    """The ledger account of a trader's balance."""
    return f"account:{account_id}:cash"


def margin_account(account_id: int) -> str:
    """The ledger account of a trader's margin in use."""
    return f"account:{account_id}:margin"


def reserve_account(account_id: int) -> str:
    """The other side of a trader's margin in use."""
    return f"account:{account_id}:margin_reserve"


def withdrawal_account(account_id: int) -> str:
    """The ledger account of what a trader holds for withdrawals."""
    return f"account:{account_id}:withdrawal_held"


def withdrawal_reserve_account(account_id: int) -> str:
    """The other side of a trader's withdrawal holds."""
    return f"account:{account_id}:withdrawal_reserve"


def _funding(event: AccountOpened | FundsDeposited | FundsWithdrawn | WithdrawalPaid) -> str:
    return funding_account(kind_of(event.account_id))


def _move(to: str, source: str, amount: Cents) -> list[Line]:
    return [(to, amount), (source, -amount)] if amount else []


def _reserve(account_id: int, amount: Cents) -> list[Line]:
    return _move(margin_account(account_id), reserve_account(account_id), amount)


def _hold(account_id: int, amount: Cents) -> list[Line]:
    return _move(withdrawal_account(account_id), withdrawal_reserve_account(account_id), amount)


def ledger_lines(event: Event, reserved: int = 0) -> list[Line]:
    """The lines ``event`` books; ``reserved`` is the margin a filling pending entry held."""
    if isinstance(event, AccountOpened):
        return _move(cash_account(event.account_id), _funding(event), event.balance)
    if isinstance(event, FundsDeposited):
        return _move(cash_account(event.account_id), _funding(event), event.amount)
    if isinstance(event, FundsWithdrawn):
        return _move(cash_account(event.account_id), _funding(event), -event.amount)
    if isinstance(event, OrderPlaced):
        return _reserve(event.account_id, event.margin)
    if isinstance(event, OrderCancelled | OrderExpired | OrderRejected):
        return _reserve(event.account_id, -event.margin)
    if isinstance(event, PositionOpened):
        return _reserve(event.account_id, event.margin - Cents(reserved))
    if isinstance(event, WithdrawalHeld):
        return _hold(event.account_id, event.amount)
    if isinstance(event, WithdrawalReleased):
        return _hold(event.account_id, -event.amount)
    if isinstance(event, WithdrawalPaid):
        paid = _move(cash_account(event.account_id), _funding(event), -event.amount)
        return paid + _hold(event.account_id, -event.amount)
    if isinstance(event, PositionClosed):
        house = house_account(kind_of(event.account_id))
        pnl = _move(cash_account(event.account_id), house, event.pnl)
        return pnl + _reserve(event.account_id, -event.margin)
    return []


def stream_id(record_id: str) -> tuple[int, int]:
    """A stream entry id (``millis-seq``) as a pair that sorts as the stream does."""
    millis, _, seq = record_id.partition("-")
    return int(millis), int(seq or 0)


async def ledger_sums(
    pool: asyncpg.Pool, through: tuple[int, int] | None = None
) -> dict[str, Cents]:
    """Each ledger account's sum, over the records up to ``through`` (all when ``None``)."""
    if through is None:
        rows = await pool.fetch(
            "SELECT ledger_account, sum(amount)::bigint AS total FROM ledger_entries"
            " GROUP BY ledger_account"
        )
    else:
        rows = await pool.fetch(
            "SELECT ledger_account, sum(amount)::bigint AS total FROM ledger_entries"
            " WHERE (split_part(record_id, '-', 1)::bigint, split_part(record_id, '-', 2)::bigint)"
            " <= ($1::bigint, $2::bigint)"
            " GROUP BY ledger_account",
            *through,
        )
    return {str(row["ledger_account"]): Cents(int(row["total"])) for row in rows}


async def unbalanced_events(pool: asyncpg.Pool) -> list[tuple[str, int, Cents]]:
    """Every event whose lines do not sum to zero: ``(record_id, seq, sum)``."""
    rows = await pool.fetch(
        "SELECT record_id, seq, sum(amount)::bigint AS total FROM ledger_entries"
        " GROUP BY record_id, seq HAVING sum(amount) <> 0 ORDER BY record_id, seq"
    )
    return [(str(r["record_id"]), int(r["seq"]), Cents(int(r["total"]))) for r in rows]
