"""``/admin``: the back office. Every route here is behind the operator's guard
(``deps.back_office``): a role, and a session or token a TOTP code raised."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from cryptocfd.gateway.deps import OperatorCaller, ResourcesDep
from cryptocfd.gateway.operator_schemas import AuditPageOut
from cryptocfd.gateway.usecases import audit
from cryptocfd.market.candles import MAX_TIME_S
from cryptocfd.store.audit import MAX_LIMIT

Text = Annotated[str | None, QueryParameter(max_length=320)]


@get("/audit", summary="The audit trail, newest first")
async def audit_trail(
    resources: ResourcesDep,
    operator: OperatorCaller,
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    start: Annotated[int | None, QueryParameter(name="from", ge=0, le=MAX_TIME_S)] = None,
    end: Annotated[int | None, QueryParameter(name="to", ge=0, le=MAX_TIME_S)] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
) -> AuditPageOut:
    """Every back-office action, exactly as appended (nothing can change or delete a row).
    Filters match exactly: ``actor`` (an email, or ``cli:<os user>``), ``action`` (e.g.
    ``role.grant``), ``target`` (e.g. ``user:42``); ``from`` included, ``to`` not, in unix
    seconds. Page with ``next_cursor``."""
    del operator  # any role may read the trail; the guard let this one in
    where = {"actor": actor, "action": action, "target": target}
    return await audit.page(resources, where, (start, end), cursor, limit)


ROUTES = [audit_trail]
