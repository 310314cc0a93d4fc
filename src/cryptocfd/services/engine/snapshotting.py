"""Snapshots of the running engine: when one is due, the forked child that writes it while the
parent serves on, reaping that child, and trimming the streams behind the kept snapshots.

The child gets a copy of the parent's memory at the fork, so it writes the state of that
instant without the parent pausing for more than the fork.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field

import msgspec
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.services.snapshots import SnapshotClash, SnapshotStore, new_header
from cryptocfd.services.trimming import Trim, trim_streams
from cryptocfd.trading.engine import Engine

log = logging.getLogger(__name__)


@dataclass
class Cadence:
    """When to snapshot: every ``seconds`` or every ``records`` records, whichever is first."""

    seconds: float = 60.0
    records: int = 100_000


@dataclass
class SnapshotStats:
    """What snapshots have cost so far (the parent's pause is the fork)."""

    taken: int = 0
    pauses_ms: list[float] = field(default_factory=list)


class Snapshotter:
    """Takes the engine's snapshots into ``store`` on ``cadence``, one child at a time."""

    def __init__(self, store: SnapshotStore, cadence: Cadence, clock: Clock = WALL) -> None:
        self.store = store
        self.cadence = cadence
        self.clock = clock
        self.sequence = 0  # the last snapshot file's number
        self.records_since = 0
        self.every_ns = round(cadence.seconds * 1_000_000_000)  # the setting is in seconds
        self.last_at = clock.monotonic_ns()
        self.child: int | None = None
        self.stats = SnapshotStats()

    def due(self) -> bool:
        """Whether records were written since the last snapshot, enough of them or long
        enough ago, and no child is still writing one."""
        if self.child is not None or self.records_since == 0:
            return False
        elapsed = self.clock.monotonic_ns() - self.last_at
        return self.records_since >= self.cadence.records or elapsed >= self.every_ns

    def fork(self, engine: Engine, last_record_id: str) -> None:
        """Fork; the child writes the snapshot of this instant while the parent serves on."""
        self.sequence += 1
        started = time.perf_counter()  # the process's own pause, not a time the rules read
        pid = os.fork()
        if pid == 0:  # the child: write and leave without running any of the parent's cleanup
            code = 1
            try:
                self.write(engine, last_record_id)
                code = 0
            except BaseException:
                log.exception("snapshot %d failed", self.sequence)
            finally:
                os._exit(code)
        pause_ms = (time.perf_counter() - started) * 1000
        self.stats.pauses_ms.append(pause_ms)
        log.info("snapshot %d forked: the engine paused %.2f ms", self.sequence, pause_ms)
        self.child = pid
        self._started()

    def write_now(self, engine: Engine, last_record_id: str) -> None:
        """Write a snapshot in-line, pausing the engine (at a clean stop, and in tests); under
        the next free number if another engine took this one (``SnapshotClash``)."""
        self.sequence += 1
        try:
            self.write(engine, last_record_id)
        except SnapshotClash:
            self.sequence = self.store.newest_sequence() + 1
            self.write(engine, last_record_id)
        self._started()

    def write(self, engine: Engine, last_record_id: str) -> None:
        """Write a snapshot of ``engine`` as it is now (in the child, or in-line)."""
        header = new_header(self.sequence, last_record_id, engine.state_hash(), self.clock.now_ms())
        self.store.write(msgspec.msgpack.encode(engine.image()), header)

    def _started(self) -> None:
        self.records_since = 0
        self.last_at = self.clock.monotonic_ns()

    def reap(self) -> bool:
        """Collect a finished snapshot child; true when it wrote its snapshot."""
        if self.child is None:
            return False
        pid, status = os.waitpid(self.child, os.WNOHANG)
        if pid == 0:
            return False
        self.child = None
        if os.waitstatus_to_exitcode(status) == 0:
            self.stats.taken += 1
            return True
        log.error("the snapshot child exited with status %s", status)
        # Another engine may have taken its number (``SnapshotClash``): go on after theirs.
        self.sequence = max(self.sequence, self.store.newest_sequence())
        return False

    async def wait(self) -> None:
        """Block until the snapshot child (if any) is done."""
        while self.child is not None:
            self.reap()
            await asyncio.sleep(0.01)

    async def trim(self, redis: Redis, streams: Streams, trim: Trim) -> None:
        """Trim the streams behind the oldest kept snapshot and the journal's progress."""
        oldest = self.store.oldest_record_id()
        if oldest is not None:
            await trim_streams(redis, streams, oldest, trim)
