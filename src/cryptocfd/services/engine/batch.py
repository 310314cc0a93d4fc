"""One batch: read inputs through the ``engine`` group, apply them in order, then write their
records and answers and acknowledge them, all in one Lua script that first checks the lease is
still this engine's (``lease``): a batch is written whole by the leader, or not at all.

An input is acknowledged only once its record (its events and its reply) is written, so after
a crash it is read again, and its request id makes that safe. A query, or the view a command
asked for, is answered on the views stream; a refused tick and an unreadable message with no
request id to answer leave no trace.
"""

from __future__ import annotations

import logging
from typing import Final

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

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
from cryptocfd.services.engine.lease import OURS_LUA, Lease, LeaseLost
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.queries import GetBalances, GetPortfolio, GetRisk, answer, view_after

log = logging.getLogger(__name__)

BATCH = 512
VIEWS_MAXLEN = 100_000  # answers are read within seconds; keep about this many
_QUERIES: Final = (GetPortfolio, GetBalances, GetRisk)  # a tuple, not a union built per command

Inputs = list[tuple[str, list[Entry]]]

# KEYS[3..6]: records, views, commands, prices; after the fence, ARGV[4..7]: the group, how
# many records, answers and command acknowledgements, then those, then the ticks' acks.
_WRITE = (
    OURS_LUA
    + """
if not ours() then return {0} end
local records, answers, commands = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local i, last = 8, ''
for _ = 1, records do last = redis.call('XADD', KEYS[3], '*', 'm', ARGV[i]); i = i + 1 end
for _ = 1, answers do
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', '"""
    + str(VIEWS_MAXLEN)
    + """', '*', 'm', ARGV[i])
  i = i + 1
end
if commands > 0 then redis.call('XACK', KEYS[5], ARGV[4], unpack(ARGV, i, i + commands - 1)) end
i = i + commands
if i <= #ARGV then redis.call('XACK', KEYS[6], ARGV[4], unpack(ARGV, i, #ARGV)) end
return {1, last}
"""
)


class Writer:
    """Writes a batch's records, answers and acknowledgements under the lease, in one call."""

    def __init__(self, redis: Redis, streams: Streams, lease: Lease) -> None:
        self.redis = redis
        self.streams = streams
        self.lease = lease
        self.keys = [*lease.keys, streams.records, streams.views, streams.commands, streams.prices]
        self.commands = streams.commands
        self.script: AsyncScript = redis.register_script(_WRITE)

    async def write(
        self, records: list[bytes], answers: list[bytes], acks: dict[str, list[bytes]]
    ) -> str | None:
        """Write them if the lease is still ours (else ``LeaseLost``); the last record's id."""
        commands = acks.get(self.commands, [])
        ticks = [ids for stream, ids in acks.items() if stream != self.commands]
        args: list[bytes | str | int] = [
            *self.lease.fence,
            ENGINE_GROUP,
            len(records),
            len(answers),
            len(commands),
            *records,
            *answers,
            *commands,
            *(entry for ids in ticks for entry in ids),
        ]
        result = await self.script(keys=self.keys, args=args)
        if result[0] != 1:
            self.lease.lose("Redis refused a write: another engine holds the lease")
            raise LeaseLost(self.lease.value)
        return result[1].decode() or None


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


async def serve_batch(
    writer: Writer, engine: Engine, consumer: str, position: str, block_ms: int | None
) -> tuple[int, int, str | None]:
    """Read a batch (``read_inputs``), apply it and write what it produced (``apply_batch``):
    how many inputs were read, how many records written, and the last one's id."""
    inputs = await read_inputs(writer.redis, writer.streams, consumer, position, block_ms)
    count = sum(len(items) for _stream, items in inputs)
    if not count:
        return 0, 0, None
    written, last = await apply_batch(writer, engine, inputs)
    return count, written, last


async def apply_batch(writer: Writer, engine: Engine, inputs: Inputs) -> tuple[int, str | None]:
    """Apply ``inputs`` and write what they produced: how many records, and the last one's id."""
    records: list[bytes] = []
    answers: list[bytes] = []
    acks: dict[str, list[bytes]] = {}
    epoch = writer.lease.epoch
    for stream, items in inputs:
        is_commands = stream == writer.commands
        for entry_id, fields in items:
            reply = apply_input(engine, fields.get(FIELD, b""), is_commands, answers, epoch)
            if type(reply) is Record:
                records.append(encode(reply))
            elif reply is not None:
                answers.append(encode(reply))
            acks.setdefault(stream, []).append(entry_id)
    return len(records), await writer.write(records, answers, acks)


def apply_input(
    engine: Engine,
    data: bytes,
    is_command: bool,  # noqa: FBT001
    answers: list[bytes],
    epoch: int | None = None,
) -> Record | Answer | None:
    """Apply one input: its record, a query's answer, or nothing to write. The answer to a
    command sent with its view goes to ``answers``, beside the record it returns."""
    try:
        if is_command:
            message = decode_command(data)
            command = message.command
            if isinstance(command, _QUERIES):
                return Answer(command.request_id, answer(engine.state, command))
            outcome, fresh, seqs = engine.execute(command)
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
                epoch=epoch,
                seqs=seqs,
            )
        tick = decode_tick(data).tick
    except BadMessage as bad:
        log.warning("unreadable message: %s", bad.reason)
        if bad.request_id is None:
            return None  # nobody to answer; nothing changed
        return Record("invalid", bad.request_id, 0, bad.rejection(), applied=False, epoch=epoch)
    outcome, _fresh, seqs = engine.execute(tick)
    if not isinstance(outcome, Accepted):
        return None  # a refused tick changes nothing and has nobody waiting on it
    return Record("tick", None, tick.ts, outcome, applied=True, epoch=epoch, seqs=seqs)
