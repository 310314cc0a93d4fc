"""A deterministic digest of the whole engine state, independent of index layout.

Two engines that applied the same inputs hash equal; the trigger heaps, caches and trailing
groups are described by what they mean (each trailing stop's current peak), not how they sit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec

from cryptocfd.trading.book import OPEN_CONTROLS, Position
from cryptocfd.trading.state import State

_encode = msgspec.msgpack.Encoder().encode


def _position_row(pos: Position) -> tuple[Any, ...]:
    group = pos.trail_group
    return (
        pos.id,
        pos.account_id,
        pos.asset,
        pos.long,
        pos.margin,
        pos.leverage,
        pos.quantity,
        pos.open_price,
        pos.liquidation_price,
        pos.take_profit,
        pos.stop_loss,
        pos.trailing_distance,
        pos.opened_at,
        None if group is None else group.extreme,
    )


def _risk_digest(digest: Any, state: State) -> None:
    """The controls of every asset off its default, and the house's realized PnL once a
    position has closed: a state that never used them hashes as it did before they were."""
    for symbol in sorted(state.assets):
        c = state.assets[symbol].controls
        if c is not OPEN_CONTROLS:
            digest.update(
                _encode(("controls", symbol, str(c.mode), c.max_net_exposure, c.max_live_leverage))
            )
    risk = state.risk
    if risk.day >= 0:
        realized = [(r.total, r.today) for r in risk.realized.values()]
        digest.update(_encode(("realized", risk.day, realized)))


def state_digest(state: State, request_ids: Iterable[str]) -> str:
    """Hash accounts (their order event counts too), positions, pending entries, withdrawal
    holds, quotes, house totals and remembered ids."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(_encode((state.house_balance, state.deposited, state.next_order_id)))
    for symbol in sorted(state.assets):
        asset = state.assets[symbol]
        q, h = asset.quote, asset.held
        digest.update(
            _encode(
                (
                    symbol,
                    None if q is None else (q.bid, q.ask, q.mark, q.ts),
                    None if h is None else (h.bid, h.ask, h.ts),
                )
            )
        )
    for account_id in sorted(state.accounts):
        account = state.accounts[account_id]
        digest.update(_encode((account_id, account.balance, account.used_margin, account.seq)))
    for order_id in sorted(state.positions):
        digest.update(_encode(_position_row(state.positions[order_id])))
    for order_id in sorted(state.pending):
        o = state.pending[order_id]
        # A quantity-sized entry adds its quantity; a margin-sized one hashes as it always has.
        sized = () if o.quantity is None else (o.quantity,)
        digest.update(
            _encode(
                (
                    *sized,
                    o.id,
                    o.account_id,
                    o.asset,
                    o.long,
                    str(o.order_type),
                    o.price,
                    o.margin,
                    o.leverage,
                    o.take_profit,
                    o.stop_loss,
                    o.trailing_distance,
                    o.expires_at,
                    o.placed_at,
                )
            )
        )
    for withdrawal_id in sorted(state.withdrawals):
        hold = state.withdrawals[withdrawal_id]
        digest.update(_encode((withdrawal_id, hold.account_id, hold.amount)))
    _risk_digest(digest, state)
    for request_id in request_ids:
        digest.update(_encode(request_id))
    return digest.hexdigest()
