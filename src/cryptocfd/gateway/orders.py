"""Trade requests parsed into engine commands, before anything reaches the engine.

The gateway only parses here (decimal strings into scaled integers, the asset's decimals, the
side's spelling, times). What an order may be is the engine's rule: ``place_order`` runs the
engine's own shape check (``trading.order_shape``) on the command it built, so a malformed
order is a 400 with the engine's code and never costs a trip to the engine.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from msgspec import Raw, UnsetType

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import BPS, CENTS_DECIMALS
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.body import amount, optional_amount
from cryptocfd.gateway.errors import ApiError, rejected
from cryptocfd.gateway.schemas import CreateOrderRequest, ModifyRequest
from cryptocfd.trading.commands import Command, ModifyPosition, OrderType, PlaceOrder, Side
from cryptocfd.trading.fingerprint import fingerprinted
from cryptocfd.trading.order_shape import fraction_problem, shape_problem
from cryptocfd.trading.rejections import RejectCode

C = TypeVar("C", bound=Command)

_SIDES = {"long": Side.LONG, "buy": Side.LONG, "short": Side.SHORT, "sell": Side.SHORT}


def now_ms() -> int:
    """The wall clock in unix milliseconds: commands carry the gateway's time."""
    return time.time_ns() // 1_000_000


_GENERATED = "g:"


def request_id(principal: Principal, key: str | None, operation: str) -> str:
    """The engine request id: the client's idempotency key, scoped to the user and the
    operation, or a new one. A retry with the same key gets the first outcome and changes
    nothing; the same key on another operation is another request."""
    if key:
        if len(key) > 64 or not key.isascii() or not key.isprintable():
            raise ApiError(400, "INVALID_IDEMPOTENCY_KEY", "keys are up to 64 printable ASCII")
        return f"u{principal.user_id}:{operation}:{key}"
    return f"{_GENERATED}{uuid.uuid4().hex}"


def keyed(command: C) -> C:
    """``command`` with its fingerprint if its id is a client's key, so the engine answers the
    same key sent with another request 409 ``IDEMPOTENCY_KEY_REUSED`` (``trading.fingerprint``).
    A generated id is never sent twice and needs none."""
    return command if command.request_id.startswith(_GENERATED) else fingerprinted(command)


def _bad(code: RejectCode | str, message: str) -> ApiError:
    return ApiError(400, str(code), message)


def asset_spec(assets: dict[str, AssetSpec], symbol: str) -> AssetSpec:
    """The asset's spec, or a 400 ``UNKNOWN_ASSET``."""
    spec = assets.get(symbol.upper())
    if spec is None:
        raise _bad(RejectCode.UNKNOWN_ASSET, f"unknown asset {symbol!r}; see /supportedAssets")
    return spec


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _expiry_ms(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise _bad(RejectCode.INVALID_EXPIRY, "expires_at: give a time zone, e.g. Z")
        since_epoch = moment - _EPOCH
    except (ValueError, OverflowError) as exc:
        raise _bad(RejectCode.INVALID_EXPIRY, "expires_at: expected ISO 8601") from exc
    return since_epoch // timedelta(milliseconds=1)  # exact: no float on the way


def place_order(
    body: CreateOrderRequest,
    principal: Principal,
    assets: dict[str, AssetSpec],
    rid: str,
    ts: int,
) -> PlaceOrder:
    """The engine command for a create request, or a 400 saying what is wrong with it."""
    spec = asset_spec(assets, body.asset)
    side_text = body.side or body.type
    if side_text is None:
        raise _bad("INVALID_REQUEST", "give side (long or short), or type (buy or sell)")
    if body.side and body.type and _SIDES[body.side] != _SIDES[body.type]:
        raise _bad("INVALID_REQUEST", "side and type disagree")
    decimals = spec.price_decimals
    command = PlaceOrder(
        request_id=rid,
        ts=ts,
        account_id=principal.account_id,
        asset=spec.symbol,
        side=_SIDES[side_text],
        margin=amount(body.margin, CENTS_DECIMALS, "margin"),
        leverage=amount(body.leverage, 0, "leverage"),
        order_type=OrderType(body.order_type),
        price=optional_amount(body.price, decimals, "price"),
        take_profit=optional_amount(body.take_profit, decimals, "take_profit"),
        stop_loss=optional_amount(body.stop_loss, decimals, "stop_loss"),
        trailing_distance=optional_amount(body.trailing_distance, decimals, "trailing_distance"),
        expected_price=optional_amount(body.expected_price, decimals, "expected_price"),
        slippage_bps=body.slippage_bps,
        expires_at=_expiry_ms(body.expires_at),
    )
    problem = shape_problem(command, spec)
    if problem is not None:
        raise rejected(problem)
    return command


def fraction_bps(raw: Raw) -> int:
    """A close fraction (0 < f <= 1, up to four decimals) in basis points; default all."""
    bps = optional_amount(raw, 4, "fraction")
    if bps is None:
        return BPS
    problem = fraction_problem(bps)
    if problem is not None:
        raise rejected(problem)
    return bps


def modify_position(
    body: ModifyRequest, principal: Principal, spec: AssetSpec, rid: str, ts: int
) -> ModifyPosition:
    """The engine command for a modify request (omitted fields keep their value)."""
    decimals = spec.price_decimals

    def exit_level(raw: Raw | UnsetType, field: str) -> int | UnsetType | None:
        if isinstance(raw, Raw):
            return optional_amount(raw, decimals, field)
        return raw

    return ModifyPosition(
        request_id=rid,
        ts=ts,
        account_id=principal.account_id,
        order_id=body.order_id,
        take_profit=exit_level(body.take_profit, "take_profit"),
        stop_loss=exit_level(body.stop_loss, "stop_loss"),
        trailing_distance=exit_level(body.trailing_distance, "trailing_distance"),
    )
