"""The back office's view of the audit trail: filtered, newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.operator_schemas import AuditEntryOut, AuditPageOut
from cryptocfd.gateway.present import iso
from cryptocfd.gateway.resources import Resources
from cryptocfd.store.audit import AuditFilter, InvalidCursor, audit_page


def _moment(unix_s: int | None) -> datetime | None:
    return None if unix_s is None else datetime.fromtimestamp(unix_s, tz=UTC)


async def page(
    resources: Resources,
    where: dict[str, str | None],
    span: tuple[int | None, int | None],
    cursor: str | None,
    limit: int,
) -> AuditPageOut:
    """The entries matching ``where`` (actor, action, target) in ``span`` (unix seconds, the
    start included, the end not), after ``cursor``."""
    start, end = span
    if start is not None and end is not None and end <= start:
        raise ApiError(400, "INVALID_RANGE", "to must be after from")
    filters = AuditFilter(
        actor=where.get("actor"),
        action=where.get("action"),
        target=where.get("target"),
        since=_moment(start),
        until=_moment(end),
    )
    try:
        found = await audit_page(resources.pool, filters, cursor, limit)
    except InvalidCursor as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    return AuditPageOut(
        [
            AuditEntryOut(
                id=row.id,
                at=iso(row.entry.at),
                actor=row.entry.actor,
                actor_id=row.entry.actor_id,
                action=row.entry.action,
                target=row.entry.target,
                before=row.entry.before,
                after=row.entry.after,
                client_addr=row.entry.client_addr,
            )
            for row in found.rows
        ],
        found.next_cursor,
    )
