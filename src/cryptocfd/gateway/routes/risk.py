"""``/admin/risk`` and ``/admin/assets/{asset}``: the risk console and the asset controls,
for the ``risk`` and ``admin`` roles only (an ``operator`` works the queues, not the book)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import get, post
from litestar.params import PathParameter, QueryParameter

from cryptocfd.core.accounts import AccountKind
from cryptocfd.gateway.deps import ROLES, OperatorCaller, Payload, ResourcesDep
from cryptocfd.gateway.risk_schemas import AssetControlsOut, AssetControlsRequest, RiskOut
from cryptocfd.gateway.usecases import risk
from cryptocfd.identity.roles import Role

RISK_ROLES = {ROLES: frozenset({Role.RISK, Role.ADMIN})}


@get("/risk", summary="The house's exposure and PnL, live or demo", opt=RISK_ROLES)
async def house_risk(
    resources: ResourcesDep,
    operator: OperatorCaller,
    account_kind: Annotated[Literal["live", "demo"], QueryParameter()] = "live",
) -> RiskOut:
    """Per asset, the open positions' long and short quantity, net and gross notional at the
    mark and the house's unrealized PnL (minus the traders'); the house's realized PnL today
    (UTC) and in total; and the ten accounts with the largest gross notional. Live and demo
    accounts are never summed together: ``account_kind`` picks one (live by default)."""
    del operator  # the guard let a risk or admin role in
    return await risk.house_risk(resources, AccountKind(account_kind))


@post("/assets/{asset:str}", summary="Set an asset's controls", opt=RISK_ROLES, status_code=200)
async def asset_controls(
    resources: ResourcesDep,
    operator: OperatorCaller,
    payload: Payload[AssetControlsRequest],
    asset: Annotated[str, PathParameter(max_length=16)],
) -> AssetControlsOut:
    """Set the asset's controls whole: ``open``; ``close_only`` (new orders get 422
    ``ASSET_CLOSE_ONLY``, closes, exits and liquidations go on); ``halted`` (orders and closes
    get 422 ``ASSET_HALTED``, exits and liquidations still fire). ``max_net_exposure``
    (dollars) refuses an order that would take the net notional of its kind of account past
    it (422 ``EXPOSURE_LIMIT``); ``max_leverage`` caps live accounts' leverage. Audited with
    the controls before and after."""
    return await risk.set_controls(resources, operator, asset, payload)


ROUTES = [house_risk, asset_controls]
