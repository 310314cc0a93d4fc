"""``cryptocfd engine``: the pure engine joined to Redis Streams and the snapshot store.

The loop reads commands (``stream:exness``) and ticks (``stream:prices``) through the
``engine`` consumer group, applies them in order, then writes one record per input to
``stream:exnessReceive`` and acknowledges the inputs, in one MULTI/EXEC: an input is
acknowledged only once its record (its events and its reply) is written. After a crash the
engine restores the newest valid snapshot, replays the records after it, and re-reads the
inputs it had been given but not acknowledged; request ids make that safe.

Snapshots are taken in a forked child, so the engine pauses only for the fork.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from cryptocfd.bus.messages import (
    FIELD,
    Answer,
    BadMessage,
    GetBalances,
    GetPortfolio,
    Query,
    Record,
    decode_command,
    decode_record,
    decode_tick,
    encode,
    view_id,
)
from cryptocfd.bus.replies import Entry, entries, stream_entries
from cryptocfd.bus.streams import ENGINE_GROUP, Streams
from cryptocfd.services.snapshots import SnapshotStore, new_header
from cryptocfd.services.trimming import cannot_rebuild, lost_start, trim_streams
from cryptocfd.trading.commands import Command
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import balances, portfolio

log = logging.getLogger(__name__)

BATCH = 512
REPLAY_PAGE = 10_000
VIEWS_MAXLEN = 100_000  # answers to queries are read within seconds; keep about this many
MAX_BALANCES_PAGE = 10_000
_QUERIES: Final = (GetPortfolio, GetBalances)  # a tuple, not a union built per command
WARM_SLICE_S = 0.005  # thawing restored state between batches, about this long at a time


class EngineRefused(Exception):  # noqa: N818 - it is a refusal to start, not a failure mid-run
    """The engine will not start in this environment (for example, prod without AOF)."""

    exit_code = 2


class CannotRecover(EngineRefused):
    """No snapshot to start from, and a log that no longer reaches back to the first record."""

    exit_code = 3


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


class EngineService:
    """One engine process: recover, then serve until told to stop."""

    def __init__(
        self,
        redis: Redis,
        streams: Streams,
        store: SnapshotStore,
        consumer: str = "engine-1",
        cadence: Cadence | None = None,
    ) -> None:
        self.redis = redis
        self.streams = streams
        self.store = store
        self.consumer = consumer
        self.cadence = cadence or Cadence()
        self.engine = Engine()
        self.last_record_id = "0-0"
        self.restored_from: Path | None = None
        self.snapshot_sequence = 0
        self.records_since_snapshot = 0
        self.last_snapshot_at = time.monotonic()
        self.child: int | None = None
        self.stats = SnapshotStats()
        self.stopping = asyncio.Event()
        self._batch = asyncio.Lock()  # held from applying a batch until its records are written

    # -- start-up ---------------------------------------------------------------------------

    async def ensure_groups(self) -> None:
        """Create the consumer groups (and streams) if they do not exist yet."""
        for stream in (self.streams.commands, self.streams.prices):
            try:
                await self.redis.xgroup_create(stream, ENGINE_GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def recover(self) -> int:
        """Load the newest valid snapshot and replay the records after it; return how many.

        The collector is off meanwhile, and until ``serve`` has thawed what the restore left
        cold: restoring makes millions of objects, none of them garbage, and each pass over
        them would be wasted. They are then frozen, so no later full collection walks them.
        """
        gc.disable()
        self._restore_newest()
        if self.restored_from is None and (
            lost := await lost_start(self.redis, self.streams.records)
        ):
            raise CannotRecover(cannot_rebuild(self.store.directory, self.streams.records, *lost))
        return await self._replay_log()

    def _restore_newest(self) -> None:
        """Restore the newest snapshot that authenticates.

        AES-GCM has already proved the image is the one written with its header, so the state
        hash is not recomputed here (a full pass over the state); the tests hold restore to it.
        """
        self.store.remove_partial()
        self.snapshot_sequence = self.store.newest_sequence()  # never reuse a file's number
        for snapshot in self.store.valid():
            self.engine = Engine.from_image(snapshot.image)
            self.restored_from = snapshot.path
            self.last_record_id = snapshot.header.last_record_id
            log.info("restored %s (record %s)", snapshot.path.name, self.last_record_id)
            return

    async def _replay_log(self) -> int:
        replayed = 0
        while True:
            page = entries(
                await self.redis.xrange(
                    self.streams.records, min=f"({self.last_record_id}", count=REPLAY_PAGE
                )
            )
            for entry_id, fields in page:
                self._replay(decode_record(fields[FIELD]))
                self.last_record_id = entry_id.decode()
                replayed += 1
            if len(page) < REPLAY_PAGE:
                return replayed

    def _replay(self, record: Record) -> None:
        engine = self.engine
        if record.kind == "command":
            engine.expire_requests(record.ts)
        if not record.applied:
            return
        if isinstance(record.outcome, Accepted):
            engine.replay(record.outcome.events)
        if record.kind == "command" and record.request_id is not None:
            engine.remember(record.request_id, record.ts, record.outcome, record.fingerprint)

    # -- serving ----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Process inputs until ``stopping`` is set: first the unacknowledged, then new ones.

        On a clean stop it writes a last snapshot, so the next start replays nothing.
        """
        await self._read_and_apply("0")  # entries delivered to us before a crash
        warm = False
        while not self.stopping.is_set():
            await self._read_and_apply(">", block_ms=100 if warm else None)
            if not warm:
                warm = self._warm()
            if self._reap_child():
                await self.trim()
            if self._snapshot_due():
                self.snapshot()
        gc.enable()  # stopped before thawing all there was (``recover`` turned it off)
        await self.wait_for_snapshot()
        if self.records_since_snapshot:
            await self.snapshot_now()

    async def snapshot_now(self) -> None:
        """Write a snapshot in-line (at a clean stop, and in tests), pausing the engine.

        It waits for any batch in flight: between applying a batch and learning its record
        ids the state is ahead of ``last_record_id``, and a snapshot then would replay twice.
        """
        async with self._batch:
            self.snapshot_sequence += 1
            self.write_snapshot()
            self.records_since_snapshot = 0
            self.last_snapshot_at = time.monotonic()

    def _warm(self) -> bool:
        """Thaw what the restore left cold for a slice of time; whether all of it is thawed.

        Until then the engine serves correctly, only more slowly; once it is, the restored
        objects are frozen out of the collector's way, and the collector is on again.
        """
        deadline = time.perf_counter() + WARM_SLICE_S
        while time.perf_counter() < deadline:
            if self.engine.warm():
                gc.freeze()
                gc.enable()
                if self.restored_from is not None:
                    log.info("every restored account and request id is thawed")
                return True
        return False

    async def _read_and_apply(self, position: str, block_ms: int | None = 100) -> None:
        while True:
            answer = stream_entries(
                await self.redis.xreadgroup(
                    ENGINE_GROUP,
                    self.consumer,
                    {self.streams.commands: position, self.streams.prices: position},
                    count=BATCH,
                    block=None if position == "0" else block_ms,  # None: do not wait
                )
            )
            count = sum(len(items) for _stream, items in answer)
            if count:
                await self._apply_batch(answer)
            if position != "0" or count == 0:
                return

    async def _apply_batch(self, answer: list[tuple[str, list[Entry]]]) -> None:
        async with self._batch:
            await self._apply_batch_locked(answer)

    async def _apply_batch_locked(self, answer: list[tuple[str, list[Entry]]]) -> None:
        records: list[bytes] = []
        answers: list[bytes] = []
        acks: dict[str, list[bytes]] = {}
        for stream, items in answer:
            is_commands = stream == self.streams.commands
            for entry_id, fields in items:
                reply = self._apply_one(fields.get(FIELD, b""), is_commands, answers)
                if type(reply) is Record:
                    records.append(encode(reply))
                elif reply is not None:
                    answers.append(encode(reply))
                acks.setdefault(stream, []).append(entry_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for data in records:
                pipe.xadd(self.streams.records, {FIELD: data})
            for data in answers:
                pipe.xadd(self.streams.views, {FIELD: data}, maxlen=VIEWS_MAXLEN, approximate=True)
            for stream, ids in acks.items():
                pipe.xack(stream, ENGINE_GROUP, *ids)
            results = await pipe.execute()
        if records:
            self.last_record_id = results[len(records) - 1].decode()
            self.records_since_snapshot += len(records)

    def _apply_one(
        self,
        data: bytes,
        is_command: bool,  # noqa: FBT001
        answers: list[bytes],
    ) -> Record | Answer | None:
        engine = self.engine
        try:
            if is_command:
                message = decode_command(data)
                command = message.command
                if isinstance(command, _QUERIES):
                    return self._answer(command)
                engine.expire_requests(command.ts)
                fresh = not engine.remembers(command.request_id)
                outcome = engine.apply(command)
                if message.view:
                    answers.append(encode(self._view(command, outcome)))
                return Record(
                    "command",
                    command.request_id,
                    command.ts,
                    outcome,
                    applied=fresh,
                    fingerprint=command.fingerprint,
                )
            tick = decode_tick(data).tick
        except BadMessage as bad:
            log.warning("unreadable message: %s", bad.reason)
            if bad.request_id is None:
                return None  # nobody to answer; nothing changed
            return Record("invalid", bad.request_id, 0, bad.rejection(), applied=False)
        outcome = engine.apply(tick)
        if not isinstance(outcome, Accepted):
            return None  # a refused tick changes nothing and has nobody waiting on it
        return Record("tick", None, tick.ts, outcome, applied=True)

    def _view(self, command: Command, outcome: Outcome) -> Answer:
        """The portfolio narrowed to the order a command opened or touched."""
        order_id = getattr(command, "order_id", None)
        if isinstance(outcome, Accepted) and outcome.events:
            order_id = getattr(outcome.events[0], "order_id", order_id)
        query = GetPortfolio(view_id(command.request_id), command.account_id, order_id or 0)
        return self._answer(query)

    def _answer(self, query: Query) -> Answer:
        state = self.engine.state
        if isinstance(query, GetBalances):
            limit = min(query.limit, MAX_BALANCES_PAGE)
            return Answer(query.request_id, balances(state, query.after_account_id, limit))
        found = portfolio(state, query.account_id, query.order_id, orders=query.orders)
        if found is None:
            return Answer(
                query.request_id, Rejection(RejectCode.UNKNOWN_ACCOUNT, "no such account")
            )
        return Answer(query.request_id, found)

    # -- snapshots --------------------------------------------------------------------------

    def _snapshot_due(self) -> bool:
        if self.child is not None or self.records_since_snapshot == 0:
            return False
        elapsed = time.monotonic() - self.last_snapshot_at
        return (
            self.records_since_snapshot >= self.cadence.records or elapsed >= self.cadence.seconds
        )

    def snapshot(self) -> None:
        """Fork; the child writes the snapshot of this instant while the parent serves on."""
        self.snapshot_sequence += 1
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: write and leave without running any of the parent's cleanup
            code = 1
            try:
                self.write_snapshot()
                code = 0
            except BaseException:
                log.exception("snapshot %d failed", self.snapshot_sequence)
            finally:
                os._exit(code)
        self.stats.pauses_ms.append((time.perf_counter() - started) * 1000)
        self.child = pid
        self.records_since_snapshot = 0
        self.last_snapshot_at = time.monotonic()

    def write_snapshot(self) -> None:
        """Write a snapshot of the engine as it is now (in the child, or in-line)."""
        header = new_header(
            self.snapshot_sequence,
            self.last_record_id,
            self.engine.state_hash(),
            int(time.time() * 1000),
        )
        self.store.write(msgspec.msgpack.encode(self.engine.image()), header)

    def _reap_child(self) -> bool:
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
        return False

    async def trim(self) -> None:
        """Trim the streams behind the oldest kept snapshot and the journal's progress."""
        oldest = self.store.oldest_record_id()
        if oldest is not None:
            await trim_streams(self.redis, self.streams, oldest)

    async def wait_for_snapshot(self) -> None:
        """Block until the snapshot child (if any) is done."""
        while self.child is not None:
            self._reap_child()
            await asyncio.sleep(0.01)


async def check_durability(redis: Redis, *, prod: bool, allow_without_aof: bool) -> None:
    """Refuse, in prod, a Redis that would lose acknowledged orders on restart (no AOF)."""
    config = await redis.config_get("appendonly")
    if config.get("appendonly") == "yes":
        return
    message = "Redis runs without AOF: a Redis restart loses acknowledged orders"
    if prod and not allow_without_aof:
        raise EngineRefused(message + " (set CRYPTOCFD_ALLOW_REDIS_WITHOUT_AOF=1 to override)")
    log.warning(message)
