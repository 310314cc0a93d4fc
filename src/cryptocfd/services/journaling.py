"""The journaling loop: engine records → order history and ledger in PostgreSQL.

It reads ``stream:exnessReceive`` in the ``journal`` consumer group, books each batch in one
transaction, and only then acknowledges it (``XACK``), so the group's oldest pending entry (what
trimming keeps the stream back to) never passes a record that is not booked. A crash between
booking and acknowledging re-delivers the batch, and booking is idempotent by record id, so
nothing is lost or booked twice. At start, and after any error, it first re-reads its pending
entries.

Records must be booked in order, so of several workers only the one holding a PostgreSQL
advisory lock (per records stream) journals; the others wait to take over. They all read as the
same consumer, so the one taking over finds what its predecessor left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from cryptocfd.bus.messages import FIELD, Record, decode_record
from cryptocfd.bus.replies import stream_entries
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.services.retrying import TRANSIENT, Retry, wait_for
from cryptocfd.store.journal import Delivered, book_records
from cryptocfd.store.locks import JOURNAL_LOCK
from cryptocfd.store.margin_call_mail import MarginCallMail
from cryptocfd.trading.events import Accepted, Event

log = logging.getLogger(__name__)

CONSUMER = "journal"
BATCH = 500
BLOCK_MS = 200  # a short block: the loop checks for a stop between reads (redis-py#2579)
LOCK_POLL_S = 1.0  # how often a worker without the lock asks for it again


def applied_events(record: Record) -> tuple[Event, ...]:
    """The events a record changed the state by: none unless applied and accepted."""
    outcome = record.outcome
    return outcome.events if record.applied and isinstance(outcome, Accepted) else ()


class Journaler:
    """Books the records stream into PostgreSQL, in the journal consumer group."""

    def __init__(
        self,
        redis: Redis,
        streams: Streams,
        pool: asyncpg.Pool,
        batch: int = BATCH,
        mail: MarginCallMail | None = None,
    ) -> None:
        self.redis = redis
        self.mail = mail  # emails the margin calls it books
        self.stream = streams.records
        self.pool = pool
        self.batch = batch
        self.booked = 0  # records newly booked by this journaler

    async def ensure_group(self) -> None:
        """Create the journal group at the start of the stream if it does not exist yet."""
        try:
            await self.redis.xgroup_create(self.stream, JOURNAL_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_batch(self, *, pending: bool) -> list[Delivered]:
        """Our pending entries (``pending``), else new ones, waiting up to ``BLOCK_MS``."""
        answer = stream_entries(
            await self.redis.xreadgroup(
                JOURNAL_GROUP,
                CONSUMER,
                {self.stream: "0" if pending else ">"},
                count=self.batch,
                block=None if pending else BLOCK_MS,
            )
        )
        return [
            (entry_id.decode(), applied_events(decode_record(fields[FIELD])))
            for _stream, page in answer
            for entry_id, fields in page
        ]

    async def book(self, batch: list[Delivered]) -> int:
        """Book a batch in PostgreSQL; return how many records were new."""
        new = await book_records(self.pool, batch, self.mail)
        self.booked += new
        return new

    async def ack(self, batch: list[Delivered]) -> None:
        """Acknowledge a booked batch."""
        if batch:
            await self.redis.xack(self.stream, JOURNAL_GROUP, *(i for i, _ in batch))

    async def run(self, stopping: asyncio.Event) -> None:
        """Journal until ``stopping`` is set, while holding the journaling lock.

        PostgreSQL or Redis going away is waited out: the lock lives on a connection, so after
        any such error the lock is taken anew (another worker may hold it by then) and the
        pending records are read again.
        """
        retry = Retry("journaling")
        while not stopping.is_set():
            try:
                await self._journal_while_locked(stopping, retry)
            except TRANSIENT as exc:
                if await retry.failed(exc, stopping):
                    return

    async def _journal_while_locked(self, stopping: asyncio.Event, retry: Retry) -> None:
        async with self.pool.acquire() as lock:
            while not await lock.fetchval(
                "SELECT pg_try_advisory_lock($1, hashtext($2))", JOURNAL_LOCK, self.stream
            ):
                if await wait_for(stopping, LOCK_POLL_S):
                    return
            try:
                await self.ensure_group()
                await self._loop(stopping, retry)
            finally:
                # On a dying connection the lock dies with it; asyncpg's pool also unlocks
                # every advisory lock when a connection comes back.
                with contextlib.suppress(*TRANSIENT):
                    await lock.execute(
                        "SELECT pg_advisory_unlock($1, hashtext($2))", JOURNAL_LOCK, self.stream
                    )

    async def _loop(self, stopping: asyncio.Event, retry: Retry) -> None:
        pending = True
        while not stopping.is_set():
            batch = await self.read_batch(pending=pending)
            if batch:
                await self.book(batch)
                await self.ack(batch)
                retry.succeeded()
            elif pending:
                pending = False
                retry.succeeded()
                log.info("journal caught up on its pending records")
