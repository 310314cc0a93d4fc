"""The engine's async client: send a command, await its reply by request id.

One reader task per client follows ``stream:exnessReceive`` and ``stream:exnessViews`` from where
it started and resolves the waiting requests, one future each: a plain command by its record, a
query or a command sent with its view by its answer (never by its record, which comes first and
lacks the view). Sends made while a flush is under way go out together in one pipeline.
A reply that does not come in time raises ``EngineUnavailable``; sending the same command again
(same request id) is always safe, because the engine answers a repeat with the first outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cryptocfd.bus.messages import (
    FIELD,
    Answer,
    CommandMessage,
    Record,
    decode_answer,
    decode_record,
    encode,
)
from cryptocfd.bus.replies import entries, stream_entries
from cryptocfd.bus.streams import Streams
from cryptocfd.trading.commands import Command
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.queries import GetBalances, GetPortfolio, GetRisk, Query
from cryptocfd.trading.rejections import Rejection
from cryptocfd.trading.views import Balances, Portfolio, Risk

log = logging.getLogger(__name__)

T = TypeVar("T")

READ_BLOCK_MS = 200  # how long one read waits; also how long close() may wait for the reader


class EngineUnavailable(Exception):  # noqa: N818 - the name is the error code clients see
    """The engine did not answer in time, or Redis could not be reached. Safe to retry."""

    code = "ENGINE_UNAVAILABLE"


class UnexpectedAnswer(RuntimeError):  # noqa: N818 - it names what happened
    """The engine answered a request with an answer of another kind: a bug on one side, never
    a state to go on from. Raised, not asserted: ``python -O`` drops asserts."""

    def __init__(self, asked: str, answer: object) -> None:
        super().__init__(f"asked for {asked}, the engine answered {answer!r}")


class EngineClient:
    """Request/reply over Redis Streams for one process (a gateway, a test, a benchmark)."""

    def __init__(self, redis: Redis, streams: Streams, timeout_s: float = 5.0) -> None:
        self._redis = redis
        self._streams = streams
        self._timeout_s = timeout_s
        # By request id: commands waiting for their record, and requests waiting for an answer.
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._answers: dict[str, asyncio.Future[Answer]] = {}
        self._outbox: list[bytes] = []
        self._flushing: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        # Called with every record read, in log order (the gateway's live feeds listen here).
        self.listeners: list[Callable[[Record], None]] = []

    async def start(self, records_after: bytes | None = None) -> None:
        """Begin following the records and answers streams from their current ends (the
        records from just after ``records_after`` instead, when given: a caller that read
        the log up to there misses nothing in between).

        With Redis away it starts anyway and the reader finds the ends once Redis is back: a
        gateway started in an outage serves what needs no engine and answers trading 503
        until then, instead of exiting. (No command can have been answered meanwhile: none
        could be sent.)
        """
        try:
            ends = await self._ends()
            if records_after is not None:
                ends[self._streams.records] = records_after
            last_ids: dict[str, bytes] | None = ends
        except RedisError as exc:
            log.warning("Redis is away (%s); following the engine once it is back", exc)
            last_ids = None
        self._reader = asyncio.create_task(self._read(last_ids), name="engine-client-reader")

    async def _ends(self) -> dict[str, bytes]:
        last_ids: dict[str, bytes] = {}
        for stream in (self._streams.records, self._streams.views):
            newest = entries(await self._redis.xrevrange(stream, count=1))
            last_ids[stream] = newest[0][0] if newest else b"0-0"
        return last_ids

    async def close(self) -> None:
        """Stop reading; waiting requests fail with ``EngineUnavailable``.

        The reader is asked to stop rather than cancelled: cancelling redis-py in the middle
        of a blocking read can leave the task stuck (redis/redis-py#2579), so it reads with a
        short block and checks a flag between reads.
        """
        self._closing = True
        for task in (self._flushing, self._reader):
            if task is not None:
                await task
        for table in (self._waiting, self._answers):
            for future in table.values():
                if not future.done():
                    future.set_exception(EngineUnavailable("the client closed"))
            table.clear()

    async def send(self, command: Command) -> Outcome:
        """Send ``command`` and return the engine's outcome for its request id."""
        return await self._request(self._waiting, command)

    async def send_with_view(self, command: Command) -> tuple[Outcome, Portfolio | Rejection]:
        """Send ``command`` and get, in the engine's one answer to it, its outcome and the
        account's portfolio narrowed to the order the command opened or touched."""
        answer = await self._request(self._answers, command, view=True)
        outcome, view = answer.outcome, answer.result
        if outcome is None or isinstance(view, Balances | Risk):
            raise UnexpectedAnswer("an outcome and a portfolio", answer)
        return outcome, view

    async def portfolio(self, query: GetPortfolio) -> Portfolio | Rejection:
        """An account's figures, positions and pending entries, as of every command sent
        before this query."""
        view = (await self._request(self._answers, query)).result
        if isinstance(view, Balances | Risk):
            raise UnexpectedAnswer("a portfolio", view)
        return view

    async def balances(self, query: GetBalances) -> Balances:
        """A page of every account's balance (for reconciliation)."""
        page = (await self._request(self._answers, query)).result
        if not isinstance(page, Balances):
            raise UnexpectedAnswer("balances", page)
        return page

    async def risk(self, query: GetRisk) -> Risk:
        """The house's exposure to one kind of account and its realized PnL (the risk
        console), as of every command sent before this query."""
        figures = (await self._request(self._answers, query)).result
        if not isinstance(figures, Risk):
            raise UnexpectedAnswer("the house's risk", figures)
        return figures

    async def _request(
        self,
        table: dict[str, asyncio.Future[T]],
        command: Command | Query,
        *,
        view: bool = False,
    ) -> T:
        if self._reader is None:
            raise RuntimeError("start() the client before sending")
        request_id = command.request_id
        future = table.get(request_id)
        if future is None:
            loop = asyncio.get_running_loop()
            future = table[request_id] = loop.create_future()
            # One timer per request, not wait_for: on 3.11 that costs a task per call.
            timer = loop.call_later(self._timeout_s, self._expire, table, request_id)
            future.add_done_callback(lambda _: timer.cancel())
        self._outbox.append(encode(CommandMessage(command, view=view)))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await future

    def _expire(self, table: dict[str, asyncio.Future[Any]], request_id: str) -> None:
        future = table.pop(request_id, None)
        if future is not None and not future.done():
            message = f"no reply to {request_id} in {self._timeout_s} s"
            future.set_exception(EngineUnavailable(message))

    async def _flush(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for message in batch:
                        pipe.xadd(self._streams.commands, {FIELD: message})
                    await pipe.execute()
            except RedisError:
                log.exception("could not send %d commands to the engine", len(batch))
                return  # the senders time out with EngineUnavailable and may retry

    async def _read(self, last_ids: dict[str, bytes] | None) -> None:
        records = self._streams.records
        while not self._closing:
            try:
                if last_ids is None:
                    last_ids = await self._ends()
                answer = stream_entries(
                    await self._redis.xread(last_ids, count=1000, block=READ_BLOCK_MS)  # type: ignore[arg-type]
                )
            except RedisError:
                log.exception("reading engine records failed; retrying")
                await asyncio.sleep(0.2)
                continue
            for name, page in answer:
                for entry_id, fields in page:
                    last_ids[name] = entry_id
                    if name == records:
                        self._deliver_record(decode_record(fields[FIELD]))
                    else:
                        self._deliver_answer(decode_answer(fields[FIELD]))

    def _deliver_record(self, record: Record) -> None:
        if record.request_id is not None:
            future = self._waiting.pop(record.request_id, None)
            if future is not None and not future.done():
                future.set_result(record.outcome)
        for listener in self.listeners:
            listener(record)

    def _deliver_answer(self, answer: Answer) -> None:
        future = self._answers.pop(answer.request_id, None)
        if future is not None and not future.done():
            future.set_result(answer)
