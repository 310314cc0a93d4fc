"""Candles of the house bid, from the engine's own quotes, into PostgreSQL.

The writer follows ``stream:exnessReceive`` in its own consumer group (``candles``): every
accepted quote is a tick of the bid traders were shown, so the stored chart and the live one
in the gateway (built from the same quotes) agree. Closed minutes are written in batches with
COPY, then their records acknowledged. The open minute lives in memory: after a restart it is
rebuilt from the records still pending and the ones that follow, and a re-written minute
merges with the stored one.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import stream_entries
from cryptocfd.bus.streams import CANDLES_GROUP, Streams
from cryptocfd.core.tick import Tick
from cryptocfd.market.candles import Candle, CandleAggregator
from cryptocfd.services.retrying import TRANSIENT, Retry
from cryptocfd.store.candles import write_candles
from cryptocfd.trading.events import Accepted, QuoteUpdated

log = logging.getLogger(__name__)

CONSUMER = "candles"
BATCH = 2_000
BLOCK_MS = 500


def quote_ticks(data: bytes) -> list[Tick]:
    """The house quotes a record carries, as ticks."""
    record = decode_record(data)
    if not record.applied or not isinstance(record.outcome, Accepted):
        return []
    return [
        Tick(e.asset, e.bid, e.ask, e.ts) for e in record.outcome.events if type(e) is QuoteUpdated
    ]


class CandleWriter:
    """Turns the engine's quotes into stored one-minute candles (and their rollups)."""

    def __init__(self, redis: Redis, streams: Streams, pool: asyncpg.Pool) -> None:
        self.redis = redis
        self.stream = streams.records
        self.pool = pool
        self.aggregator = CandleAggregator()
        self.written = 0

    async def ensure_group(self) -> None:
        """Create the group at the stream's start, so history is charted from the beginning."""
        try:
            await self.redis.xgroup_create(self.stream, CANDLES_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, *, pending: bool) -> int:
        """Read one batch, write the minutes it closed, acknowledge; return records read."""
        answer = stream_entries(
            await self.redis.xreadgroup(
                CANDLES_GROUP,
                CONSUMER,
                {self.stream: "0" if pending else ">"},
                count=BATCH,
                block=None if pending else BLOCK_MS,
            )
        )
        ids: list[bytes] = []
        closed: list[Candle] = []
        for _stream, page in answer:
            for entry_id, fields in page:
                ids.append(entry_id)
                for tick in quote_ticks(fields[FIELD]):
                    closed += self.aggregator.add(tick)
        if closed:
            await write_candles(self.pool, closed)
            self.written += len(closed)
        if ids:
            await self.redis.xack(self.stream, CANDLES_GROUP, *ids)
        return len(ids)

    async def run(self, stopping: asyncio.Event) -> None:
        """Write candles until ``stopping`` is set; Redis and database being away is waited
        out, and the pending records are read again after it."""
        retry = Retry("writing candles")
        grouped = pending = False
        while not stopping.is_set():
            try:
                if not grouped:
                    await self.ensure_group()
                    grouped = pending = True
                read = await self.step(pending=pending)
                retry.succeeded()
                if pending and read == 0:
                    pending = False
            except TRANSIENT as exc:
                pending = True
                await retry.failed(exc, stopping)
