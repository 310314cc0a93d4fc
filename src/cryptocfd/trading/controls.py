"""An asset's controls: the limits the house sets on trading in it (``docs/engine.md``,
"Controls"), set by ``SetAssetControls`` and checked where they bind.

Each rule is one function here, called from every place it binds: ``order_problem`` by
``decide.place_order``; ``halted_problem`` by a close, a demo reset and a fill;
``exposure_problem`` by a market order, a placed entry and a fill. Unlike an order's shape
(``order_shape``), they need the state, so the engine alone checks them.
"""

from __future__ import annotations

from cryptocfd.core.accounts import AccountKind, kind_of
from cryptocfd.core.money import QtyUnits
from cryptocfd.trading.book import AssetState
from cryptocfd.trading.commands import AssetMode, SetAssetControls
from cryptocfd.trading.events import AssetControlsSet, Event
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import State

HALTED = AssetMode.HALTED
CLOSE_ONLY = AssetMode.CLOSE_ONLY


def set_asset_controls(state: State, cmd: SetAssetControls) -> tuple[Event, ...] | Rejection:
    """Set an asset's controls whole, each limit within what the asset allows."""
    asset = state.assets.get(cmd.asset)
    if asset is None:
        return Rejection(RejectCode.UNKNOWN_ASSET, f"unknown asset {cmd.asset!r}")
    exposure, leverage = cmd.max_net_exposure, cmd.max_live_leverage
    if exposure is not None and exposure < 0:
        return Rejection(RejectCode.INVALID_CONTROLS, "max_net_exposure cannot be negative")
    highest = asset.spec.max_leverage
    if leverage is not None and not 1 <= leverage <= highest:
        message = f"max_live_leverage must be 1 to {highest}"
        return Rejection(RejectCode.INVALID_CONTROLS, message)
    was = asset.controls
    return (
        AssetControlsSet(
            cmd.asset,
            cmd.mode,
            exposure,
            leverage,
            cmd.ts,
            was.mode,
            was.max_net_exposure,
            was.max_live_leverage,
        ),
    )


def halted_problem(asset: AssetState) -> Rejection | None:
    """A halted asset takes no order and no close (exits and liquidations still fire)."""
    if asset.controls.mode is HALTED:
        return Rejection(RejectCode.ASSET_HALTED, f"trading in {asset.spec.symbol} is halted")
    return None


def order_problem(asset: AssetState, account_id: int, leverage: int) -> Rejection | None:
    """A new order in a halted or close-only asset, or a live account's above the asset's
    leverage for live accounts."""
    controls = asset.controls
    problem = halted_problem(asset)
    if problem is not None:
        return problem
    if controls.mode is CLOSE_ONLY:
        symbol = asset.spec.symbol
        return Rejection(RejectCode.ASSET_CLOSE_ONLY, f"{symbol} takes closes only for now")
    highest = controls.max_live_leverage
    if highest is not None and leverage > highest and kind_of(account_id) is AccountKind.LIVE:
        message = f"live accounts may use leverage 1 to {highest} on {asset.spec.symbol}"
        return Rejection(RejectCode.LEVERAGE_OUT_OF_RANGE, message)
    return None


def exposure_problem(
    state: State,
    asset: AssetState,
    account_id: int,
    long: bool,  # noqa: FBT001
    quantity: QtyUnits,
) -> Rejection | None:
    """A position of ``quantity`` that would move its kind's net exposure in the asset away
    from zero and past the limit, judged exactly at the mark: ``|after| * mark > limit * D``."""
    limit = asset.controls.max_net_exposure
    quote = asset.quote
    if limit is None or quote is None:
        return None
    net = state.risk.exposure_of(asset.spec.symbol, account_id).net_quantity
    after = net + quantity if long else net - quantity
    if abs(after) > abs(net) and abs(after) * quote.mark > limit * asset.divisor:
        return Rejection(
            RejectCode.EXPOSURE_LIMIT,
            f"the house takes no more net exposure in {asset.spec.symbol} for now",
        )
    return None
