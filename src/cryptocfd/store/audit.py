"""The audit trail: one row per back-office action, appended in the action's own transaction.

PostgreSQL keeps it append-only: a statement trigger refuses every UPDATE, DELETE and
TRUNCATE on ``audit_log``, whoever runs it (migration 0006), so no route, role or script can
rewrite what was done. Pages are keyset-paginated on ``id``, newest first; the cursor is the
last row's id (``CURSOR_PATTERN``), and any well-formed one pages on from it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from cryptocfd.store.database import Db

MAX_LIMIT = 200
CURSOR_PATTERN = r"^[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN)
CLI_ACTOR_PREFIX = "cli:"  # the actor of a change made on the command line: cli:<os user>


class InvalidCursor(ValueError):  # noqa: N818 - named for the error code it maps to
    """The cursor was not one this module handed out (the gateway answers 400)."""

    code = "INVALID_CURSOR"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One action: who (a user, or the command line), what, on what, the state before and
    after it (JSON), when, and from which client address (``None`` on the command line)."""

    actor_id: int | None
    actor: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    client_addr: str | None = None
    at: datetime


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    """An entry as it was stored, with its id."""

    id: int
    entry: AuditEntry


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which entries a page holds: each given field must match exactly; ``since`` included,
    ``until`` not."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditPage(msgspec.Struct, frozen=True):
    """A page of entries, newest first, and the cursor of the next one (``None`` on the last)."""

    rows: tuple[AuditRow, ...]
    next_cursor: str | None


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


async def append(db: Db, entry: AuditEntry) -> int:
    """Append ``entry`` (pass the connection of the action's transaction); its id."""
    entry_id = await db.fetchval(
        "INSERT INTO audit_log (at, actor_id, actor, action, target, before, after, client_addr)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8) RETURNING id",
        entry.at,
        entry.actor_id,
        entry.actor,
        entry.action,
        entry.target,
        _json(entry.before),
        _json(entry.after),
        entry.client_addr,
    )
    return int(entry_id)


_SELECT = (
    "SELECT id, at, actor_id, actor, action, target, before::text AS before,"
    " after::text AS after, client_addr FROM audit_log"
)


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues after, or ``InvalidCursor``."""
    if _CURSOR.fullmatch(cursor) is None:
        raise InvalidCursor("the cursor is not valid")
    return int(cursor)


async def audit_page(db: Db, where: AuditFilter, cursor: str | None, limit: int = 50) -> AuditPage:
    """The entries ``where`` selects, newest first, after ``cursor``, at most ``limit``."""
    # Only the conditions given, each a fixed fragment with its value a parameter: the planner
    # sees the real filter and can use its index.
    given = [
        ("id < ${}", None if cursor is None else decode_cursor(cursor)),
        ("actor = ${}", where.actor),
        ("action = ${}", where.action),
        ("target = ${}", where.target),
        ("at >= ${}", where.since),
        ("at < ${}", where.until),
    ]
    conditions = [(fragment, value) for fragment, value in given if value is not None]
    clause = " AND ".join(fragment.format(n) for n, (fragment, _) in enumerate(conditions, 1))
    limit = max(1, min(limit, MAX_LIMIT))
    where_sql = f"WHERE {clause}" if clause else ""
    query = " ".join((_SELECT, where_sql, "ORDER BY id DESC LIMIT", f"${len(conditions) + 1}"))
    rows = await db.fetch(
        query,
        *(value for _, value in conditions),
        limit + 1,
    )
    page = tuple(_row(row) for row in rows[:limit])
    more = len(rows) > limit
    return AuditPage(page, str(page[-1].id) if more else None)


def _row(row: Any) -> AuditRow:
    def parsed(text: str | None) -> Any:
        return None if text is None else msgspec.json.decode(text)

    entry = AuditEntry(
        actor_id=row["actor_id"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        before=parsed(row["before"]),
        after=parsed(row["after"]),
        client_addr=row["client_addr"],
        at=row["at"],
    )
    return AuditRow(id=int(row["id"]), entry=entry)
