"""Trimming the streams, never past what recovery or the journal still needs.

``stream:exnessReceive`` is kept back to the oldest kept snapshot's last record (recovery may
fall back to that snapshot) and to the journaling group's oldest unfinished record (the worker
turns records into history and ledger entries). With no journaling group yet, nothing is
trimmed. The input streams are kept back to the engine group's oldest unacknowledged entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from cryptocfd.bus.streams import CANDLES_GROUP, ENGINE_GROUP, JOURNAL_GROUP, Streams

# ``XTRIM stream MINID id``, done by the engine under its lease (``Lease.trim``).
Trim = Callable[[str, str], Awaitable[None]]


def _id(value: Any) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else str(value)
    millis, _, seq = text.partition("-")
    return int(millis), int(seq or 0)


def _text(stream_id: tuple[int, int]) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


async def _group_floor(redis: Redis, stream: str, group: str) -> tuple[int, int] | None:
    """The oldest entry ``group`` may still need: its oldest pending one, else the next."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return None  # no such stream
    info = next((g for g in groups if _text_name(g) == group), None)
    if info is None:
        return None
    pending = await redis.xpending(stream, group)
    if pending.get("pending"):
        return _id(pending["min"])
    last = _id(info["last-delivered-id"])
    return last[0], last[1] + 1


def _text_name(info: dict[Any, Any]) -> str:
    name = info["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


async def trim_streams(
    redis: Redis, streams: Streams, oldest_snapshot_record: str, trim: Trim
) -> None:
    """Trim the three streams as far as is safe (see the module's docstring), with ``trim``."""
    journal = await _group_floor(redis, streams.records, JOURNAL_GROUP)
    if journal is not None:
        floor = min(journal, _id(oldest_snapshot_record))
        candles = await _group_floor(redis, streams.records, CANDLES_GROUP)
        if candles is not None:  # the candle writer reads the same records
            floor = min(floor, candles)
        # MINID keeps entries at or after the id; the snapshot's own record may go.
        await trim(streams.records, _text(floor))
    for stream in (streams.commands, streams.prices):
        engine = await _group_floor(redis, stream, ENGINE_GROUP)
        if engine is not None:
            await trim(stream, _text(engine))


async def lost_start(redis: Redis, stream: str) -> tuple[int, int] | None:
    """``(kept, ever added)`` when ``stream`` no longer reaches back to its first entry
    (trimmed, or entries deleted); None while it does (or does not exist)."""
    try:
        info = await redis.xinfo_stream(stream)
    except ResponseError:
        return None
    kept, added = int(info["length"]), int(info.get("entries-added", 0))
    return (kept, added) if added > kept else None


def cannot_rebuild(snapshots: object, stream: str, kept: int, added: int) -> str:
    """What to tell an operator whose engine has no snapshot to start from and a log that no
    longer holds every record: what is wrong, and the way out."""
    return (
        f"no valid snapshot in {snapshots} (every one is missing or fails authentication), "
        f"and {stream} has been trimmed ({kept} of the {added} records written remain), so the "
        "state cannot be rebuilt from the log. Restore a snapshot from a backup into that "
        "directory, with the CRYPTOCFD_SNAPSHOT_KEY it was written with, and start the engine "
        "again. The rest of the platform stays up meanwhile; trading answers 503."
    )
