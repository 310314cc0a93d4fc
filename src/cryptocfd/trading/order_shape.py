"""An order's shape: the checks that need neither a quote nor a balance.

One function, called by the engine (``decide.place_order``, rules 3 to 8 of ``docs/engine.md``)
and by the gateway before it sends anything, so both refuse the same orders with the same
codes in the same order, and no rule lives in two copies that can drift apart. A close's
fraction is checked here for the same reason.
"""

from __future__ import annotations

from msgspec import UNSET

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import BPS, QTY_DECIMALS, format_scaled
from cryptocfd.trading.commands import MARKET, PlaceOrder
from cryptocfd.trading.rejections import RejectCode, Rejection

# A pending entry may wait at most this long: further out is a typo, not a plan.
MAX_EXPIRY_MS = 366 * 86_400_000


def fraction_problem(fraction_bps: int) -> Rejection | None:
    """A close's fraction outside (0, 1], in basis points, or ``None`` when it is one."""
    if not 1 <= fraction_bps <= BPS:
        return Rejection(RejectCode.INVALID_FRACTION, "fraction must be above 0 and at most 1")
    return None


def shape_problem(cmd: PlaceOrder, spec: AssetSpec) -> Rejection | None:
    """The first shape rule ``cmd`` breaks for ``spec``'s asset, or ``None``."""
    if not 1 <= cmd.leverage <= spec.max_leverage:
        return Rejection(
            RejectCode.LEVERAGE_OUT_OF_RANGE, f"leverage must be 1 to {spec.max_leverage}"
        )
    problem = _size_problem(cmd, spec)
    if problem is not None:
        return problem
    pending = cmd.order_type is not MARKET
    price = cmd.price
    if pending and (price is None or price <= 0):
        return Rejection(RejectCode.INVALID_ORDER_PRICE, "limit and stop orders need a price")
    if not pending and price is not None:
        return Rejection(RejectCode.INVALID_ORDER_PRICE, "a market order takes no price")
    if cmd.trailing_distance is not None and cmd.trailing_distance <= 0:
        return Rejection(RejectCode.INVALID_TRAILING_DISTANCE, "trailing distance must be positive")
    expires = cmd.expires_at
    if expires is not None and (
        not pending or expires <= cmd.ts or expires - cmd.ts > MAX_EXPIRY_MS
    ):
        return Rejection(
            RejectCode.INVALID_EXPIRY, "only pending orders expire, within a year from now"
        )
    return _slippage_problem(cmd)


def _size_problem(cmd: PlaceOrder, spec: AssetSpec) -> Rejection | None:
    """An order is sized by a positive margin, or by a positive quantity in whole steps of
    the asset (with margin 0), never by both."""
    quantity = cmd.quantity
    if quantity is UNSET:
        if cmd.margin <= 0:
            return Rejection(RejectCode.INVALID_MARGIN, "give a positive margin, or a quantity")
        return None
    if cmd.margin != 0:
        return Rejection(RejectCode.INVALID_QUANTITY, "give margin or quantity, not both")
    step = spec.quantity_step
    if quantity <= 0 or quantity % step:
        return Rejection(
            RejectCode.INVALID_QUANTITY,
            f"quantity must be a positive multiple of {format_scaled(step, QTY_DECIMALS)}",
        )
    return None


def _slippage_problem(cmd: PlaceOrder) -> Rejection | None:
    expected, bps = cmd.expected_price, cmd.slippage_bps
    if expected is not None and expected <= 0:
        return Rejection(RejectCode.INVALID_SLIPPAGE, "expected price must be positive")
    if bps is not None and not 0 <= bps <= BPS:
        return Rejection(RejectCode.INVALID_SLIPPAGE, "slippage must be 0 to 10000 bps")
    # A bound with nothing to measure against would be skipped without a word: refuse it.
    if bps is not None and expected is None:
        return Rejection(RejectCode.INVALID_SLIPPAGE, "slippage_bps needs expected_price")
    return None
