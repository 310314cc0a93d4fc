"""Business rejections: values with stable codes, never exceptions."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class RejectCode(StrEnum):
    """Stable reasons a command is refused. Clients switch on these; never rename one."""

    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"
    UNKNOWN_ASSET = "UNKNOWN_ASSET"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_MARGIN = "INVALID_MARGIN"
    LEVERAGE_OUT_OF_RANGE = "LEVERAGE_OUT_OF_RANGE"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    POSITION_TOO_SMALL = "POSITION_TOO_SMALL"
    WOULD_LIQUIDATE = "WOULD_LIQUIDATE"
    SLIPPAGE_EXCEEDED = "SLIPPAGE_EXCEEDED"
    INVALID_SLIPPAGE = "INVALID_SLIPPAGE"
    PRICE_UNAVAILABLE = "PRICE_UNAVAILABLE"
    PRICE_STALE = "PRICE_STALE"
    INVALID_ORDER_PRICE = "INVALID_ORDER_PRICE"
    INVALID_TAKE_PROFIT = "INVALID_TAKE_PROFIT"
    INVALID_STOP_LOSS = "INVALID_STOP_LOSS"
    INVALID_TRAILING_DISTANCE = "INVALID_TRAILING_DISTANCE"
    INVALID_EXPIRY = "INVALID_EXPIRY"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    INVALID_FRACTION = "INVALID_FRACTION"
    CLOSE_TOO_SMALL = "CLOSE_TOO_SMALL"
    INVALID_QUOTE = "INVALID_QUOTE"
    TICK_OUT_OF_ORDER = "TICK_OUT_OF_ORDER"
    INVALID_MESSAGE = "INVALID_MESSAGE"


class Rejection(msgspec.Struct, frozen=True, tag="rejected", gc=False, array_like=True):
    """A refused command: nothing changed."""

    code: RejectCode
    message: str
