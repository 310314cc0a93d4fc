"""One batch: read inputs through the ``engine`` group, apply them in order, then write their
records and answers and acknowledge them, all in one MULTI/EXEC.

An input is acknowledged only once its record (its events and its reply) is written, so after
a crash it is read again, and its request id makes that safe. A query, or the view a command
asked for, is answered on the views stream; a refused tick and an unreadable message with no
request id to answer leave no trace.
"""

from __future__ import annotations

import logging
from typing import Final

from redis.asyncio import Redis

from cryptocfd.bus.messages import (
    FIELD,
    Answer,
    BadMessage,
    Record,
    decode_command,
    decode_tick,
    encode,
)
from cryptocfd.bus.replies import Entry, stream_entries
from cryptocfd.bus.streams import ENGINE_GROUP, Streams
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.queries import GetBalances, GetPortfolio, answer, view_after

log = logging.getLogger(__name__)

BATCH = 512
VIEWS_MAXLEN = 100_000  # answers are read within seconds; keep about this many
_QUERIES: Final = (GetPortfolio, GetBalances)  # a tuple, not a union built per command

Inputs = list[tuple[str, list[Entry]]]


async def read_inputs(
    redis: Redis, streams: Streams, consumer: str, position: str, block_ms: int | None
) -> Inputs:
    """Up to ``BATCH`` inputs of each stream: ``">"`` new ones (waiting up to ``block_ms``),
    ``"0"`` those delivered to this consumer before and never acknowledged (not waiting)."""
    return stream_entries(
        await redis.xreadgroup(
            ENGINE_GROUP,
            consumer,
            {streams.commands: position, streams.prices: position},
            count=BATCH,
            block=None if position == "0" else block_ms,  # None: do not wait
        )
    )


async def apply_batch(
    redis: Redis, streams: Streams, engine: Engine, inputs: Inputs
) -> tuple[int, str | None]:
    """Apply ``inputs`` and write what they produced: how many records, and the last one's id."""
    records: list[bytes] = []
    answers: list[bytes] = []
    acks: dict[str, list[bytes]] = {}
    for stream, items in inputs:
        is_commands = stream == streams.commands
        for entry_id, fields in items:
            reply = apply_input(engine, fields.get(FIELD, b""), is_commands, answers)
            if type(reply) is Record:
                records.append(encode(reply))
            elif reply is not None:
                answers.append(encode(reply))
            acks.setdefault(stream, []).append(entry_id)
    async with redis.pipeline(transaction=True) as pipe:
        for data in records:
            pipe.xadd(streams.records, {FIELD: data})
        for data in answers:
            pipe.xadd(streams.views, {FIELD: data}, maxlen=VIEWS_MAXLEN, approximate=True)
        for stream, ids in acks.items():
            pipe.xack(stream, ENGINE_GROUP, *ids)
        results = await pipe.execute()
    if not records:
        return 0, None
    return len(records), results[len(records) - 1].decode()


def apply_input(
    engine: Engine,
    data: bytes,
    is_command: bool,  # noqa: FBT001
    answers: list[bytes],
) -> Record | Answer | None:
    """Apply one input: its record, a query's answer, or nothing to write. The answer to a
    command sent with its view goes to ``answers``, beside the record it returns."""
    try:
        if is_command:
            message = decode_command(data)
            command = message.command
            if isinstance(command, _QUERIES):
                return Answer(command.request_id, answer(engine.state, command))
            engine.expire_requests(command.ts)
            fresh = not engine.remembers(command.request_id)
            outcome = engine.apply(command)
            if message.view:
                view = view_after(engine.state, command, outcome)
                answers.append(encode(Answer(command.request_id, view, outcome=outcome)))
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
