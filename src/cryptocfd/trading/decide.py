"""Deciding commands: validate against the state, then emit the events that carry them out.

Checks run in a fixed order, so the same command in the same state always gets the same
rejection code; ``docs/engine.md`` lists that order.
"""

from __future__ import annotations

from typing import Protocol

from msgspec import UNSET

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import BPS, Cents, PriceTicks, QtyUnits, format_scaled
from cryptocfd.trading.book import OPEN_CONTROLS, Account, AssetState, Quote
from cryptocfd.trading.commands import (
    LIMIT,
    LONG,
    MARKET,
    SHORT,
    CancelOrder,
    ClosePosition,
    Deposit,
    ModifyPosition,
    OpenAccount,
    OrderType,
    PlaceOrder,
    Withdraw,
)
from cryptocfd.trading.controls import exposure_problem, halted_problem, order_problem
from cryptocfd.trading.events import (
    AccountOpened,
    CloseReason,
    Event,
    FundsDeposited,
    FundsWithdrawn,
    OrderCancelled,
    OrderPlaced,
    PositionClosed,
    PositionModified,
    PositionOpened,
)
from cryptocfd.trading.margin import capped_pnl, liquidation_price, margin_for, quantity_for
from cryptocfd.trading.order_shape import fraction_problem, shape_problem
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import State

Decision = tuple[Event, ...] | Rejection


def reject(code: RejectCode, message: str) -> Rejection:
    """A refusal with its stable code."""
    return Rejection(code, message)


UNKNOWN_ACCOUNT = reject(RejectCode.UNKNOWN_ACCOUNT, "no such account")
ORDER_NOT_FOUND = reject(RejectCode.ORDER_NOT_FOUND, "no such order")


def open_account(state: State, cmd: OpenAccount) -> Decision:
    """Open an account with its starting balance."""
    if cmd.account_id in state.accounts:
        return reject(RejectCode.ACCOUNT_EXISTS, "the account already exists")
    if cmd.balance < 0:
        return reject(RejectCode.INVALID_AMOUNT, "a starting balance cannot be negative")
    return (AccountOpened(cmd.account_id, cmd.balance, cmd.ts),)


def deposit(state: State, cmd: Deposit) -> Decision:
    """Credit an account."""
    if cmd.account_id not in state.accounts:
        return UNKNOWN_ACCOUNT
    if cmd.amount <= 0:
        return reject(RejectCode.INVALID_AMOUNT, "the amount must be positive")
    return (FundsDeposited(cmd.account_id, cmd.amount, cmd.ts),)


def withdraw(state: State, cmd: Withdraw) -> Decision:
    """Debit an account, never below what its open margin needs."""
    account = state.accounts.get(cmd.account_id)
    if account is None:
        return UNKNOWN_ACCOUNT
    if cmd.amount <= 0:
        return reject(RejectCode.INVALID_AMOUNT, "the amount must be positive")
    if cmd.amount > account.balance or cmd.amount > state.free_margin(account):
        return reject(RejectCode.INSUFFICIENT_BALANCE, "the amount exceeds the free margin")
    return (FundsWithdrawn(cmd.account_id, cmd.amount, cmd.ts),)


def quote_problem(asset: AssetState) -> Rejection:
    """Why the asset's quote cannot be traded on now: there is none yet, or it is stale.

    Callers check ``quote is None or ts - quote.ts > staleness_ms`` inline (it runs on every
    order) and come here only for the rejection.
    """
    if asset.quote is None:
        return reject(RejectCode.PRICE_UNAVAILABLE, f"no price for {asset.spec.symbol} yet")
    return reject(RejectCode.PRICE_STALE, f"the {asset.spec.symbol} price is stale")


def stop_beyond(liq: PriceTicks, spec: AssetSpec) -> Rejection:
    """A stop-loss at or past the liquidation price ``liq``: liquidation would always come first,
    so the stop could never fire. The message prints the price as a trader types it."""
    return reject(
        RejectCode.STOP_LOSS_BEYOND_LIQUIDATION,
        f"the stop loss would never fire: liquidation at "
        f"{format_scaled(liq, spec.price_decimals)} comes first",
    )


def check_exits(
    long: bool,  # noqa: FBT001
    reference: PriceTicks,
    tp: PriceTicks | None,
    sl: PriceTicks | None,
) -> Rejection | None:
    """Take-profit beyond and stop-loss short of ``reference`` on the position's side."""
    if tp is not None and (tp <= 0 or (tp <= reference if long else tp >= reference)):
        side = "above" if long else "below"
        return reject(RejectCode.INVALID_TAKE_PROFIT, f"take profit must be {side} {reference}")
    if sl is not None and (sl <= 0 or (sl >= reference if long else sl <= reference)):
        side = "below" if long else "above"
        return reject(RejectCode.INVALID_STOP_LOSS, f"stop loss must be {side} {reference}")
    return None


def place_order(state: State, cmd: PlaceOrder) -> Decision:
    """Open a position at market, or leave a limit or stop entry pending."""
    account = state.accounts.get(cmd.account_id)
    if account is None:
        return UNKNOWN_ACCOUNT
    asset = state.assets.get(cmd.asset)
    if asset is None:
        return reject(RejectCode.UNKNOWN_ASSET, f"unknown asset {cmd.asset!r}")
    # The usual order passes these; anything else takes the full, ordered checks.
    if not (
        0 < cmd.leverage <= asset.spec.max_leverage
        and cmd.margin > 0
        and cmd.order_type is MARKET
        and cmd.price is None
        and cmd.trailing_distance is None
        and cmd.expires_at is None
        and cmd.expected_price is None
        and cmd.slippage_bps is None
        and cmd.quantity is UNSET
    ):
        problem = shape_problem(cmd, asset.spec)
        if problem is not None:
            return problem
    if asset.controls is not OPEN_CONTROLS:
        problem = order_problem(asset, cmd.account_id, cmd.leverage)
        if problem is not None:
            return problem
    quote = asset.quote
    if quote is None or cmd.ts - quote.ts > asset.spec.staleness_ms:
        return quote_problem(asset)
    if cmd.order_type is MARKET:
        return _open_market(state, account, asset, quote, cmd)
    return _place_pending(state, account, asset, quote, cmd)


def _open_market(
    state: State, account: Account, asset: AssetState, quote: Quote, cmd: PlaceOrder
) -> Decision:
    long = cmd.side is LONG
    price = quote.ask if long else quote.bid
    expected, bps = cmd.expected_price, cmd.slippage_bps
    if (
        expected is not None
        and bps is not None
        and (price * BPS > expected * (BPS + bps) if long else price * BPS < expected * (BPS - bps))
    ):
        return reject(RejectCode.SLIPPAGE_EXCEEDED, f"price {price} is beyond the slippage bound")
    if cmd.take_profit is not None or cmd.stop_loss is not None:
        closing = quote.bid if long else quote.ask
        problem = check_exits(long, closing, cmd.take_profit, cmd.stop_loss)
        if problem is not None:
            return problem
    quantity = cmd.quantity
    if quantity is UNSET:
        margin, fixed = cmd.margin, None
    else:
        margin, fixed = margin_for(quantity, price, cmd.leverage, asset.divisor), quantity
    if margin > state.free_margin(account):
        return reject(RejectCode.INSUFFICIENT_BALANCE, "margin exceeds the free margin")
    event = open_event(asset, cmd, long, price, MARKET, state.next_order_id, cmd.ts, margin, fixed)
    if isinstance(event, Rejection):
        return event
    if asset.controls is not OPEN_CONTROLS:
        problem = exposure_problem(state, asset, cmd.account_id, long, event.quantity)
        if problem is not None:
            return problem
    return (event,)


class OrderTerms(Protocol):
    """What a fill needs of an order: a market ``PlaceOrder`` or a ``PendingOrder``."""

    @property
    def account_id(self) -> int: ...
    @property
    def asset(self) -> str: ...
    @property
    def leverage(self) -> int: ...
    @property
    def take_profit(self) -> PriceTicks | None: ...
    @property
    def stop_loss(self) -> PriceTicks | None: ...
    @property
    def trailing_distance(self) -> PriceTicks | None: ...


def open_event(
    asset: AssetState,
    order: OrderTerms,
    long: bool,  # noqa: FBT001
    price: PriceTicks,
    order_type: OrderType,
    order_id: int,
    ts: int,
    margin: Cents,
    quantity: QtyUnits | None,
) -> PositionOpened | Rejection:
    """The PositionOpened for ``order`` filled at ``price`` at ``ts`` with ``margin``, unless
    it is too small or too close to liquidation to open. Its quantity is ``quantity`` for an
    order sized by quantity, else what the margin buys at ``price``."""
    spec = asset.spec
    divisor = asset.divisor
    if quantity is None:
        qty = quantity_for(margin * order.leverage, price, divisor, asset.step)
        if qty <= 0:
            return reject(RejectCode.POSITION_TOO_SMALL, "the position would have no quantity")
    else:
        qty = quantity
    liq = liquidation_price(long, price, qty, margin, spec.maintenance_bps, divisor)
    mark = asset.quote.mark if asset.quote is not None else price
    if mark <= liq if long else mark >= liq:
        return reject(RejectCode.WOULD_LIQUIDATE, "the position would be liquidated at once")
    sl = order.stop_loss
    if sl is not None and (sl <= liq if long else sl >= liq):
        return stop_beyond(liq, spec)
    return PositionOpened(
        order_id,
        order.account_id,
        order.asset,
        LONG if long else SHORT,
        order_type,
        margin,
        order.leverage,
        qty,
        price,
        liq,
        order.take_profit,
        order.stop_loss,
        order.trailing_distance,
        ts,
    )


def _place_pending(
    state: State, account: Account, asset: AssetState, quote: Quote, cmd: PlaceOrder
) -> Decision:
    long = cmd.side is LONG
    price = cmd.price
    assert price is not None
    watched = quote.ask if long else quote.bid
    limit = cmd.order_type is LIMIT
    # An entry that would fill at once is a market order in disguise: refuse it.
    crossed = (
        (watched <= price if limit else watched >= price)
        if long
        else (watched >= price if limit else watched <= price)
    )
    if crossed:
        return reject(RejectCode.INVALID_ORDER_PRICE, f"price {price} would fill at once")
    problem = check_exits(long, price, cmd.take_profit, cmd.stop_loss)
    if problem is not None:
        return problem
    quantity = cmd.quantity
    if quantity is UNSET:
        margin, fixed = cmd.margin, None
        qty = quantity_for(margin * cmd.leverage, price, asset.divisor, asset.step)
    else:
        margin, fixed = margin_for(quantity, price, cmd.leverage, asset.divisor), quantity
        qty = quantity
    if margin > state.free_margin(account):
        return reject(RejectCode.INSUFFICIENT_BALANCE, "margin exceeds the free margin")
    if qty <= 0:
        return reject(RejectCode.POSITION_TOO_SMALL, "the position would have no quantity")
    sl = cmd.stop_loss
    if sl is not None:
        # Judged at the order's price; the fill judges it again at the fill's price.
        maintenance = asset.spec.maintenance_bps
        liq = liquidation_price(long, price, qty, margin, maintenance, asset.divisor)
        if sl <= liq if long else sl >= liq:
            return stop_beyond(liq, asset.spec)
    if asset.controls is not OPEN_CONTROLS:
        problem = exposure_problem(state, asset, cmd.account_id, long, qty)
        if problem is not None:
            return problem
    return (
        OrderPlaced(
            state.next_order_id,
            cmd.account_id,
            cmd.asset,
            cmd.side,
            cmd.order_type,
            price,
            margin,
            cmd.leverage,
            cmd.take_profit,
            cmd.stop_loss,
            cmd.trailing_distance,
            cmd.expires_at,
            cmd.ts,
            fixed,
        ),
    )


def modify_position(state: State, cmd: ModifyPosition) -> Decision:
    """Change a position's exits, validated against its current closing price."""
    if cmd.account_id not in state.accounts:
        return UNKNOWN_ACCOUNT
    pos = state.positions.get(cmd.order_id)
    if pos is None or pos.account_id != cmd.account_id:
        return ORDER_NOT_FOUND
    tp = pos.take_profit if cmd.take_profit is UNSET else cmd.take_profit
    sl = pos.stop_loss if cmd.stop_loss is UNSET else cmd.stop_loss
    trailing = pos.trailing_distance if cmd.trailing_distance is UNSET else cmd.trailing_distance
    if trailing is not None and trailing <= 0:
        return reject(RejectCode.INVALID_TRAILING_DISTANCE, "trailing distance must be positive")
    quote = state.assets[pos.asset].quote
    assert quote is not None
    closing = quote.bid if pos.long else quote.ask
    problem = check_exits(
        pos.long,
        closing,
        None if cmd.take_profit is UNSET else tp,
        None if cmd.stop_loss is UNSET else sl,
    )
    if problem is not None:
        return problem
    if cmd.stop_loss is not UNSET and sl is not None:
        liq = pos.liquidation_price
        if sl <= liq if pos.long else sl >= liq:
            return stop_beyond(liq, state.assets[pos.asset].spec)
    rearm = cmd.trailing_distance is not UNSET and cmd.trailing_distance is not None
    return (PositionModified(pos.id, pos.account_id, tp, sl, trailing, rearm, cmd.ts),)


def close_position(state: State, cmd: ClosePosition) -> Decision:
    """Close a position, or a share of it, at the closing price."""
    if cmd.account_id not in state.accounts:
        return UNKNOWN_ACCOUNT
    pos = state.positions.get(cmd.order_id)
    if pos is None or pos.account_id != cmd.account_id:
        return ORDER_NOT_FOUND
    problem = fraction_problem(cmd.fraction_bps)
    if problem is not None:
        return problem
    asset = state.assets[pos.asset]
    problem = halted_problem(asset)
    if problem is not None:
        return problem
    quote = asset.quote
    if quote is None or cmd.ts - quote.ts > asset.spec.staleness_ms:
        return quote_problem(asset)
    if cmd.fraction_bps == BPS:
        qty, margin = pos.quantity, pos.margin
    else:
        step = asset.step
        share = pos.quantity * cmd.fraction_bps // BPS
        qty = share - share % step
        margin = pos.margin * cmd.fraction_bps // BPS
        if qty == 0 or margin == 0:
            return reject(RejectCode.CLOSE_TOO_SMALL, "that share of the position is too small")
    return (close_event(state, asset, pos.id, CloseReason.CLOSED, qty, margin, cmd.ts),)


def close_event(
    state: State,
    asset: AssetState,
    order_id: int,
    reason: CloseReason,
    qty: QtyUnits,
    margin: Cents,
    ts: int,
) -> PositionClosed:
    """The PositionClosed for ``qty`` (and ``margin``) of a position at its closing price."""
    pos = state.positions[order_id]
    quote = asset.quote
    assert quote is not None
    spec = asset.spec
    divisor = asset.divisor
    long = pos.long
    price = quote.bid if long else quote.ask
    profit = capped_pnl(long, pos.open_price, price, qty, margin, divisor)
    rest_qty, rest_margin = pos.quantity - qty, pos.margin - margin
    liq = (
        liquidation_price(
            long, pos.open_price, rest_qty, rest_margin, spec.maintenance_bps, divisor
        )
        if rest_qty
        else None
    )
    return PositionClosed(
        order_id,
        pos.account_id,
        pos.asset,
        LONG if long else SHORT,
        reason,
        qty,
        margin,
        pos.open_price,
        price,
        profit,
        rest_qty,
        rest_margin,
        liq,
        ts,
        pos.leverage,
        pos.opened_at,
    )


def cancel_order(state: State, cmd: CancelOrder) -> Decision:
    """Cancel a pending entry of the caller's."""
    if cmd.account_id not in state.accounts:
        return UNKNOWN_ACCOUNT
    order = state.pending.get(cmd.order_id)
    if order is None or order.account_id != cmd.account_id:
        return ORDER_NOT_FOUND
    return (OrderCancelled(order.id, order.account_id, order.margin, cmd.ts),)
