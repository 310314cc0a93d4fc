"""Typed views of redis-py's stream replies, whose declared types cover every protocol."""

from __future__ import annotations

from typing import Any

Entry = tuple[bytes, dict[bytes, bytes]]


def entries(page: Any) -> list[Entry]:
    """XRANGE / XREVRANGE: ``[(id, fields), ...]``."""
    return [(bytes(entry_id), dict(fields)) for entry_id, fields in page or ()]


def stream_entries(answer: Any) -> list[tuple[str, list[Entry]]]:
    """XREAD / XREADGROUP: ``[(stream name, [(id, fields), ...]), ...]`` (RESP2 or RESP3)."""
    items = answer.items() if isinstance(answer, dict) else (answer or ())
    out = []
    for name, page in items:
        stream = name.decode() if isinstance(name, bytes) else str(name)
        # XREADGROUP on pending entries may list a deleted entry as (id, None): skip those.
        out.append((stream, [(bytes(i), dict(f)) for i, f in page if f is not None]))
    return out
