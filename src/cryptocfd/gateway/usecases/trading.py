"""Trading on the caller's account: each use case parses the request, sends one command, and
presents the answer.

The gateway only parses here (decimal strings into scaled integers, the asset's decimals, the
side's spelling, times). What an order may be is the engine's rule: ``place_order`` runs the
engine's own shape check (``trading.order_shape``) on the command it built, so a malformed
order is a 400 with the engine's code and never costs a trip to the engine.

Every command carries the caller's own account id, and the engine answers ``ORDER_NOT_FOUND``
for an order of another account, so asking about someone else's order is a 404, never a leak.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from msgspec import UNSET, Raw, UnsetType

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import (
    BPS,
    CENTS_DECIMALS,
    QTY_DECIMALS,
    Bps,
    Cents,
    DecimalFormatError,
    PriceTicks,
    QtyUnits,
    parse_scaled,
    scaled_or_none,
)
from cryptocfd.gateway import present
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import ApiError, rejected
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import (
    CancelledOut,
    CancelRequest,
    ClosedOut,
    ClosedPage,
    CloseRequest,
    CreateOrderOut,
    CreateOrderRequest,
    ModifyRequest,
    OpenOut,
    OrderOut,
    PositionOut,
)
from cryptocfd.gateway.usecases.send import (
    GENERATED,
    UnexpectedOutcomeError,
    outcome_events,
    portfolio_of,
    send_as,
    send_with_view_as,
)
from cryptocfd.store.history import InvalidCursor, closed_trades_page, journaled_order
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    ModifyPosition,
    OrderType,
    PlaceOrder,
    Side,
)
from cryptocfd.trading.events import OrderCancelled, OrderPlaced, PositionClosed, PositionOpened
from cryptocfd.trading.order_shape import fraction_problem, shape_problem
from cryptocfd.trading.rejections import RejectCode
from cryptocfd.trading.views import Portfolio, PositionView

# No amount, price or distance is this big at its scale (10^15 cents is ten trillion dollars);
# the cap keeps every number far inside the engine's 53-bit and the ledger's 64-bit integers.
MAX_SCALED = 10**15
_SIDES = {"long": Side.LONG, "buy": Side.LONG, "short": Side.SHORT, "sell": Side.SHORT}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def create(
    resources: Resources, principal: Principal, body: CreateOrderRequest, key: str | None
) -> CreateOrderOut:
    """Open a position or place a pending entry; what it became, as the engine left it."""
    rid = request_id(principal, body.client_order_id or key, "create")
    command = place_order(body, principal, resources.assets, rid, resources.clock.now_ms())
    reply = await send_with_view_as(resources, principal, command)
    first = reply.events[0]
    # A key sent with another request is refused by the engine (409), so this is our order's.
    # An explicit check, not an assert: ``python -O`` would drop that and fail on the next line.
    if not isinstance(first, PositionOpened | OrderPlaced):
        raise UnexpectedOutcomeError("an order", first)
    return present.created(first, reply.view, resources.assets)


async def open_orders(
    resources: Resources, principal: Principal, asset: str | None = None
) -> OpenOut:
    """The caller's positions and pending entries now (of ``asset`` only, if given)."""
    view = await portfolio_of(resources, principal)
    if asset is not None:
        symbol = asset_spec(resources.assets, asset).symbol
        view = msgspec.structs.replace(
            view,
            positions=tuple(p for p in view.positions if p.asset == symbol),
            pending=tuple(o for o in view.pending if o.asset == symbol),
        )
    return present.open_orders(view, resources.assets)


async def order(resources: Resources, principal: Principal, order_id: int) -> OrderOut:
    """The caller's order in whatever state it is: live from the engine, ended from the
    journal; a 404 for an order of anyone else's."""
    view = await portfolio_of(resources, principal, order_id)
    booked = await journaled_order(resources.pool, principal.account_id, order_id)
    if view.positions or view.pending:
        asset = (view.positions or view.pending)[0].asset
        return present.live_order(view, resources.assets[asset], booked)
    if booked is None:
        raise ApiError(404, "ORDER_NOT_FOUND", f"no order {order_id} on this account")
    if booked.status in ("pending", "open"):  # it ended a moment ago: the journal is behind
        raise ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            f"order {order_id} has just ended and is being booked; retry shortly",
            {"Retry-After": "1"},
        )
    return present.ended_order(booked, resources.assets[booked.asset])


async def close(
    resources: Resources, principal: Principal, body: CloseRequest, key: str | None
) -> ClosedOut:
    """Close a position, or a fraction of it; a retry answers what the first close did."""
    bps = fraction_bps(body.fraction)
    rid = request_id(principal, key, "close")
    command = ClosePosition(rid, resources.clock.now_ms(), principal.account_id, body.order_id, bps)
    event = outcome_events(await send_as(resources, principal, command))[0]
    if not isinstance(event, PositionClosed):
        raise UnexpectedOutcomeError("a close", event)
    return present.closed(event, resources.assets[event.asset])


async def modify(
    resources: Resources, principal: Principal, body: ModifyRequest, key: str | None
) -> PositionOut:
    """Change a position's exits; the position as it is now."""
    held = _position_in(await portfolio_of(resources, principal, body.order_id), body.order_id)
    spec = asset_spec(resources.assets, held.asset)
    rid = request_id(principal, key, "modify")
    command = modify_position(body, principal, spec, rid, resources.clock.now_ms())
    reply = await send_with_view_as(resources, principal, command)
    return present.position(_position_in(reply.view, body.order_id), spec)


async def cancel(
    resources: Resources, principal: Principal, body: CancelRequest, key: str | None
) -> CancelledOut:
    """Cancel a pending entry; the margin it released."""
    rid = request_id(principal, key, "cancel")
    command = CancelOrder(rid, resources.clock.now_ms(), principal.account_id, body.order_id)
    event = outcome_events(await send_as(resources, principal, command))[0]
    if not isinstance(event, OrderCancelled):
        raise UnexpectedOutcomeError("a cancel", event)
    return present.cancelled(event)


async def closed_history(
    resources: Resources,
    principal: Principal,
    cursor: str | None,
    limit: int,
    asset: str | None = None,
) -> ClosedPage:
    """A page of the caller's closes (of ``asset`` only, if given), newest first, as the
    journal booked them."""
    symbol = None if asset is None else asset_spec(resources.assets, asset).symbol
    try:
        page = await closed_trades_page(resources.pool, principal.account_id, cursor, limit, symbol)
    except InvalidCursor as exc:
        raise ApiError(400, InvalidCursor.code, str(exc)) from exc
    return present.closed_page(page, resources.assets)


def _position_in(view: Portfolio, order_id: int) -> PositionView:
    for candidate in view.positions:
        if candidate.order_id == order_id:
            return candidate
    raise ApiError(404, "ORDER_NOT_FOUND", f"no open position {order_id} on this account")


# -- parsing --------------------------------------------------------------------------------


def amount(raw: Raw, decimals: int, field: str) -> int:
    """The amount in ``raw`` as an integer at ``decimals`` places, or a 400: a decimal string
    or a plain JSON number, read from its own text, never an exponent, NaN, infinity, negative
    zero or more digits than the scale holds."""
    text = bytes(raw).decode()
    if text.startswith('"'):
        try:
            text = msgspec.json.decode(text, type=str)
        except msgspec.DecodeError as exc:  # pragma: no cover - msgspec validated the JSON
            raise ApiError(400, "INVALID_NUMBER", f"{field}: not a string") from exc
    elif not text or text[0] not in "-0123456789":
        raise ApiError(400, "INVALID_NUMBER", f"{field}: expected a decimal string or number")
    try:
        value = parse_scaled(text, decimals)
    except DecimalFormatError as exc:
        raise ApiError(400, "INVALID_NUMBER", f"{field}: {exc}") from exc
    if abs(value) > MAX_SCALED:
        raise ApiError(400, "INVALID_NUMBER", f"{field}: too large")
    return value


def optional_amount(raw: Raw, decimals: int, field: str) -> int | None:
    """``amount`` for an ``OptionalAmount`` field (absent or JSON null gives ``None``)."""
    text = bytes(raw)
    return None if not text or text == b"null" else amount(raw, decimals, field)


def _price(raw: Raw, decimals: int, field: str) -> PriceTicks | None:
    return scaled_or_none(PriceTicks, optional_amount(raw, decimals, field))


def _quantity(raw: Raw) -> QtyUnits | UnsetType:
    value = optional_amount(raw, QTY_DECIMALS, "quantity")
    return UNSET if value is None else QtyUnits(value)


def request_id(principal: Principal, key: str | None, operation: str) -> str:
    """The engine request id: the client's idempotency key, scoped to the account and the
    operation, or a new one. A retry with the same key gets the first outcome and changes
    nothing; the same key on another operation, or on the user's other account, is another
    request. (A demo account's id is its user's, so demo keys read as they always have.)"""
    if key:
        if len(key) > 64 or not key.isascii() or not key.isprintable():
            raise ApiError(400, "INVALID_IDEMPOTENCY_KEY", "keys are up to 64 printable ASCII")
        return f"u{principal.account_id}:{operation}:{key}"
    return f"{GENERATED}{uuid.uuid4().hex}"


def _bad(code: RejectCode | str, message: str) -> ApiError:
    return ApiError(400, str(code), message)


def asset_spec(assets: dict[str, AssetSpec], symbol: str) -> AssetSpec:
    """The asset's spec, or a 400 ``UNKNOWN_ASSET``."""
    spec = assets.get(symbol.upper())
    if spec is None:
        raise _bad(RejectCode.UNKNOWN_ASSET, f"unknown asset {symbol!r}; see /supportedAssets")
    return spec


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
        margin=Cents(optional_amount(body.margin, CENTS_DECIMALS, "margin") or 0),
        leverage=amount(body.leverage, 0, "leverage"),
        order_type=OrderType(body.order_type),
        price=_price(body.price, decimals, "price"),
        take_profit=_price(body.take_profit, decimals, "take_profit"),
        stop_loss=_price(body.stop_loss, decimals, "stop_loss"),
        trailing_distance=_price(body.trailing_distance, decimals, "trailing_distance"),
        expected_price=_price(body.expected_price, decimals, "expected_price"),
        slippage_bps=scaled_or_none(Bps, body.slippage_bps),
        expires_at=_expiry_ms(body.expires_at),
        quantity=_quantity(body.quantity),
    )
    problem = shape_problem(command, spec)
    if problem is not None:
        raise rejected(problem)
    return command


def fraction_bps(raw: Raw) -> Bps:
    """A close fraction (0 < f <= 1, up to four decimals) in basis points; default all."""
    bps = optional_amount(raw, 4, "fraction")
    if bps is None:
        return BPS
    problem = fraction_problem(bps)
    if problem is not None:
        raise rejected(problem)
    return Bps(bps)


def modify_position(
    body: ModifyRequest, principal: Principal, spec: AssetSpec, rid: str, ts: int
) -> ModifyPosition:
    """The engine command for a modify request (omitted fields keep their value)."""
    decimals = spec.price_decimals

    def exit_level(raw: Raw | UnsetType, field: str) -> PriceTicks | UnsetType | None:
        if isinstance(raw, Raw):
            return _price(raw, decimals, field)
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
