"""What travels on the streams, versioned, as msgpack.

``stream:exness`` carries ``CommandMessage``s; ``stream:prices`` carries ``Tick``s; the engine
answers on ``stream:exnessReceive`` with one ``Record`` per applied input. A record is both the
reply to its request and the event log: recovery replays the records whose ``applied`` is true.

Queries travel on ``stream:exness`` too, so a query sent after a command sees its effect, but
their answers (``Answer``) go to ``stream:exnessViews``: they change nothing and are not part
of the log. A command sent with ``view`` is answered there as well, in one ``Answer`` carrying
both its outcome and the view, under its own request id; its record is logged as for any other.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import Command
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.queries import Query
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Balances, Portfolio, Risk

VERSION = 1  # commands, ticks and records
ANSWER_VERSION = 2  # answers: 2 added ``outcome`` (a command's view had its own answer in 1)
FIELD = b"m"  # every stream entry is one field holding one msgpack message


class Answer(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """The engine's answer on ``stream:exnessViews``, under the request's id.

    For a query, ``result`` is what it asked and ``outcome`` is ``None``. For a command sent
    with ``view``, ``outcome`` is the command's (as its record has it) and ``result`` the view.
    """

    request_id: str
    result: Portfolio | Balances | Risk | Rejection
    v: int = ANSWER_VERSION
    outcome: Accepted | Rejection | None = None


class CommandMessage(msgspec.Struct, frozen=True, gc=False):
    """A command or query for the engine; ``v`` is the message format's version.

    ``view`` asks, with a command, for the account's portfolio narrowed to the order the
    command opened or touched: the engine then answers the command once, with its outcome and
    that view together (``Answer``), written in the same transaction as its record.
    """

    command: Command | Query
    v: int = VERSION
    view: bool = False


class TickMessage(msgspec.Struct, frozen=True, gc=False):
    """A feed tick for the engine."""

    tick: Tick
    v: int = VERSION


class Record(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """The engine's answer to one input, in the order it applied them.

    ``kind`` says what the input was. ``applied`` is false for a repeat of a known request id
    (the first outcome, sent again) and for an input it could not read: recovery replays the
    events of applied records, remembers applied commands' request ids, and lets every command
    record move the dedupe window on, exactly as live processing did. ``epoch`` is the
    writing leader's lease epoch. ``seqs`` numbers the outcome's events on their accounts'
    ``orders`` channels: one per event, the account's ``seq`` just after it (0 for an event
    that is not an order event), or ``None`` when no event is one (a plain tick), the record
    is not applied (a repeat's events were numbered when first applied), or it was written
    before seqs. New fields go last, with defaults, so records written before them decode.
    """

    kind: Literal["command", "tick", "invalid"]
    request_id: str | None
    ts: int
    outcome: Accepted | Rejection
    applied: bool
    v: int = VERSION
    fingerprint: int | None = None  # the command's, remembered with its outcome on replay
    epoch: int | None = None  # the lease epoch of the engine that wrote it (None before leases)
    seqs: tuple[int, ...] | None = None  # see above


_command_decoder = msgspec.msgpack.Decoder(CommandMessage)
_tick_decoder = msgspec.msgpack.Decoder(TickMessage)
_record_decoder = msgspec.msgpack.Decoder(Record)
_answer_decoder = msgspec.msgpack.Decoder(Answer)
_loose_decoder = msgspec.msgpack.Decoder(dict[str, Any])
_encoder = msgspec.msgpack.Encoder()

encode = _encoder.encode


class BadMessage(Exception):  # noqa: N818 - it names the message, not an error class family
    """A stream entry that is not a message this version understands."""

    def __init__(self, reason: str, request_id: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id

    def rejection(self) -> Rejection:
        """How the engine answers it."""
        return Rejection(RejectCode.INVALID_MESSAGE, self.reason)


def _request_id_of(data: bytes) -> str | None:
    """Best effort: the request id of a message that failed to decode, to address the error."""
    try:
        loose = _loose_decoder.decode(data)
    except msgspec.DecodeError:
        return None
    command = loose.get("command")
    if isinstance(command, dict) and isinstance(command.get("request_id"), str):
        return str(command["request_id"])[:200]
    return None


def decode_command(data: bytes) -> CommandMessage:
    """Decode a command message, or raise ``BadMessage`` saying why."""
    try:
        message = _command_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadMessage(f"unreadable command: {exc}", _request_id_of(data)) from exc
    if message.v != VERSION:
        raise BadMessage(f"message version {message.v} is not {VERSION}", _request_id_of(data))
    return message


def decode_tick(data: bytes) -> TickMessage:
    """Decode a tick message, or raise ``BadMessage``."""
    try:
        message = _tick_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadMessage(f"unreadable tick: {exc}", None) from exc
    if message.v != VERSION:
        raise BadMessage(f"message version {message.v} is not {VERSION}", None)
    return message


def decode_record(data: bytes) -> Record:
    """Decode a record from ``stream:exnessReceive``."""
    return _record_decoder.decode(data)


def decode_answer(data: bytes) -> Answer:
    """Decode a query's answer from ``stream:exnessViews``."""
    return _answer_decoder.decode(data)
