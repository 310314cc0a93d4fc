"""One engine process: recover, then serve batches until told to stop, snapshotting on cadence.

The loop reads commands (``stream:exness``) and ticks (``stream:prices``) through the
``engine`` consumer group and applies them in order (``batch``); after a crash the engine
restores the newest valid snapshot, replays the records after it (``recovery``), and re-reads
the inputs it had been given but not acknowledged. Snapshots are taken in a forked child
(``snapshotting``), so the engine pauses only for the fork.

Only the holder of the lease (``lease``) serves; an engine that finds it held follows the
leader's records as a hot standby (``standby``) until it can take it. Every write is fenced by
the lease in Redis; once it is lost the engine stops writing and raises ``LeaseLost``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.clock import WALL, Clock
from cryptocfd.services.engine.batch import Writer, serve_batch
from cryptocfd.services.engine.groups import claim_pending, ensure_groups
from cryptocfd.services.engine.lease import Lease, LeaseLost
from cryptocfd.services.engine.recovery import CannotRecover, replay_log, restore_newest
from cryptocfd.services.engine.snapshotting import Cadence, Snapshotter
from cryptocfd.services.engine.standby import follow
from cryptocfd.services.engine.status import Status, engine_name
from cryptocfd.services.snapshots import SnapshotStore
from cryptocfd.services.trimming import cannot_rebuild, lost_start
from cryptocfd.trading.engine import Engine

log = logging.getLogger(__name__)

WARM_SLICE_S = 0.005  # thawing restored state between batches, about this long at a time


class EngineService:
    """One engine process: recover, then serve until told to stop."""

    def __init__(
        self,
        redis: Redis,
        streams: Streams,
        store: SnapshotStore,
        consumer: str = "engine-1",
        cadence: Cadence | None = None,
        clock: Clock = WALL,
        *,
        lease_ttl_ms: int = 2000,
        publish_hash: bool = False,
    ) -> None:
        self.redis = redis
        self.streams = streams
        self.consumer = consumer  # one name for the leader role: a new leader's pending are its
        self.clock = clock
        self.lease = Lease(redis, streams.prefix, consumer, lease_ttl_ms)
        self.writer = Writer(redis, streams, self.lease)
        name = engine_name(consumer)
        self.status = Status(redis, streams, name, clock, publish_hash=publish_hash)
        self.engine = Engine()
        self.last_record_id = "0-0"
        self.restored_from: Path | None = None
        self.snapshots = Snapshotter(store, cadence or Cadence(), clock)
        self.stopping = asyncio.Event()
        self._batch = asyncio.Lock()  # held from applying a batch until its records are written

    # -- start-up ---------------------------------------------------------------------------

    async def ensure_groups(self) -> None:
        """Create the consumer groups (and streams) if they do not exist yet."""
        await ensure_groups(self.redis, self.streams)

    async def recover(self) -> int:
        """Load the newest valid snapshot and replay the records after it; return how many.

        The collector is off meanwhile, and until ``serve`` has thawed what the restore left
        cold: restoring makes millions of objects, none of them garbage, and each pass over
        them would be wasted. They are then frozen, so no later full collection walks them.
        """
        gc.disable()
        tidy = await self.lease.holder() is None  # a leader's half-written snapshot stays
        restored = restore_newest(self.snapshots.store, tidy=tidy)
        self.engine, self.restored_from = restored.engine, restored.path
        self.snapshots.sequence = restored.sequence
        if restored.path is None and (lost := await lost_start(self.redis, self.streams.records)):
            directory = self.snapshots.store.directory
            raise CannotRecover(cannot_rebuild(directory, self.streams.records, *lost))
        replayed, self.last_record_id = await replay_log(
            self.redis, self.streams, self.engine, restored.last_record_id
        )
        return replayed

    async def lead(self) -> int:
        """Take the lease, following the leader's records as a standby while another holds it,
        then catch up the log; how many records were applied (none once ``stopping``)."""
        applied = 0
        if not await self.lease.acquire():
            self._warm_all()  # a standby has the time, and follows with the collector on
            holder = await self.lease.holder()
            log.info("engine standby: %s leads; following its records", holder)
            print(f"engine standby (leader {holder}): following", flush=True)
            applied, self.last_record_id = await follow(
                self.redis,
                self.streams,
                self.engine,
                self.last_record_id,
                self.lease,
                self.status,
                self.stopping,
                self.clock,
            )
            if self.stopping.is_set():
                return applied
        caught, self.last_record_id = await replay_log(
            self.redis, self.streams, self.engine, self.last_record_id
        )
        await claim_pending(self.redis, self.streams, self.consumer)
        store = self.snapshots.store
        self.snapshots.sequence = max(self.snapshots.sequence, store.newest_sequence())
        log.info("engine leads with epoch %s", self.lease.epoch)
        await self.status.leading(self.lease.epoch)
        return applied + caught

    # -- serving ----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Process inputs until ``stopping`` is set: first the unacknowledged, then new ones.

        It serves only under the lease (``lead`` first, unless it holds it), renewed by a task
        of its own. On a clean stop it writes a last snapshot, so the next start replays
        nothing, and gives the lease up. Once the lease is lost it raises ``LeaseLost``.
        """
        if not self.lease.held:
            await self.lead()
        if self.stopping.is_set():
            gc.enable()
            return
        keeper = asyncio.create_task(self.lease.keep())
        try:
            await self._serve()
        finally:
            self.lease.halted.set()
            await keeper
        await self.lease.release()

    async def _serve(self) -> None:
        await self._read_and_apply("0")  # entries delivered to the leader before a crash
        warm = False
        snapshots = self.snapshots
        swept = self.clock.monotonic_ns()
        while not self.stopping.is_set():
            if self.lease.lost.is_set():
                raise LeaseLost(self.lease.value)
            await self._read_and_apply(">", block_ms=100 if warm else None)
            if self.clock.monotonic_ns() - swept >= self.lease.renew_ns:
                # An old leader, fenced out, may have read inputs it can no longer write:
                # they wait pending in the group, so claim them and read them again.
                swept = self.clock.monotonic_ns()
                await claim_pending(self.redis, self.streams, self.consumer)
                await self._read_and_apply("0")
            if not warm:
                warm = self._warm()
            if snapshots.reap():
                await self.trim()
            if snapshots.due():
                snapshots.fork(self.engine, self.last_record_id)
        gc.enable()  # stopped before thawing all there was (``recover`` turned it off)
        await snapshots.wait()
        if snapshots.records_since:
            await self.snapshot_now()

    async def _read_and_apply(self, position: str, block_ms: int | None = 100) -> None:
        while True:
            # Held across the read too: a snapshot taken between applying a batch and learning
            # its records' ids would be ahead of ``last_record_id`` and replay them twice.
            async with self._batch:
                count, written, last = await serve_batch(
                    self.writer, self.engine, self.consumer, position, block_ms
                )
                if last is not None:
                    self.last_record_id = last
                    self.snapshots.records_since += written
            if position != "0" or count == 0:
                return

    def _warm(self) -> bool:
        """Thaw what the restore left cold for a slice of time; whether all of it is thawed.

        Until then the engine serves correctly, only more slowly; once it is, the restored
        objects are frozen out of the collector's way, and the collector is on again.
        """
        deadline = time.perf_counter() + WARM_SLICE_S  # a slice of this process's own time
        while time.perf_counter() < deadline:
            if self.engine.warm():
                gc.freeze()
                gc.enable()
                if self.restored_from is not None:
                    log.info("every restored account and request id is thawed")
                return True
        return False

    def _warm_all(self) -> None:
        """Thaw everything the restore left cold, then freeze it and turn the collector on."""
        while not self.engine.warm():
            pass
        gc.freeze()
        gc.enable()

    # -- snapshots --------------------------------------------------------------------------

    async def snapshot_now(self) -> None:
        """Write a snapshot in-line (at a clean stop, and in tests), pausing the engine.

        It waits for any batch in flight: between applying a batch and learning its record
        ids the state is ahead of ``last_record_id``, and a snapshot then would replay twice.
        """
        async with self._batch:
            self.snapshots.write_now(self.engine, self.last_record_id)

    async def trim(self) -> None:
        """Trim the streams behind the oldest kept snapshot and the journal's progress."""
        await self.snapshots.trim(self.redis, self.streams, self.lease.trim)

    async def wait_for_snapshot(self) -> None:
        """Block until the snapshot child (if any) is done."""
        await self.snapshots.wait()
