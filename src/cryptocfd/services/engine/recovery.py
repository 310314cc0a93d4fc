"""Recovery: the newest snapshot that authenticates, then the records written after it.

Replaying a record does what applying its input did: a command record moves the dedupe window
on, an applied record's events are evolved, and an applied command's request id is remembered
with its outcome and fingerprint. Inputs given to the engine but never acknowledged are not
recovery's: the batch loop re-reads them first thing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD, Record, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.services.engine.durability import EngineRefused
from cryptocfd.services.snapshots import SnapshotStore
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted

log = logging.getLogger(__name__)

REPLAY_PAGE = 10_000


class CannotRecover(EngineRefused):
    """No snapshot to start from, and a log that no longer reaches back to the first record."""

    exit_code = 3


@dataclass
class Restored:
    """The engine a snapshot held (a fresh one without), and where its log resumes."""

    engine: Engine
    last_record_id: str = "0-0"
    path: Path | None = None
    sequence: int = 0  # the newest snapshot file's number, valid or not: never reused


def restore_newest(store: SnapshotStore, *, tidy: bool = True) -> Restored:
    """Restore the newest snapshot that authenticates; with ``tidy``, first remove what a
    snapshot writer left half-written (not while another engine leads: it may be writing one).

    AES-GCM has already proved the image is the one written with its header, so the state
    hash is not recomputed here (a full pass over the state); the tests hold restore to it.
    """
    if tidy:
        store.remove_partial()
    sequence = store.newest_sequence()
    for snapshot in store.valid():
        log.info("restored %s (record %s)", snapshot.path.name, snapshot.header.last_record_id)
        return Restored(
            Engine.from_image(snapshot.image),
            snapshot.header.last_record_id,
            snapshot.path,
            sequence,
        )
    return Restored(Engine(), sequence=sequence)


async def replay_log(redis: Redis, streams: Streams, engine: Engine, after: str) -> tuple[int, str]:
    """Replay every record after ``after`` into ``engine``; how many, and the last one's id."""
    replayed = 0
    while True:
        page = entries(await redis.xrange(streams.records, min=f"({after}", count=REPLAY_PAGE))
        for entry_id, fields in page:
            replay_record(engine, decode_record(fields[FIELD]))
            after = entry_id.decode()
            replayed += 1
        if len(page) < REPLAY_PAGE:
            return replayed, after


def replay_record(engine: Engine, record: Record) -> None:
    """Do to ``engine`` what applying the record's input did."""
    if record.kind == "command":
        engine.expire_requests(record.ts)
    if not record.applied:
        return
    if isinstance(record.outcome, Accepted):
        engine.replay(record.outcome.events)
    if record.kind == "command" and record.request_id is not None:
        engine.remember(record.request_id, record.ts, record.outcome, record.fingerprint)
