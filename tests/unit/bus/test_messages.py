"""Stream messages round-trip, and unreadable ones fail with a reason and, if any, a request id."""

from __future__ import annotations

import msgspec
import pytest

from cryptocfd.bus.messages import (
    ANSWER_VERSION,
    VERSION,
    Answer,
    BadMessage,
    CommandMessage,
    Record,
    TickMessage,
    decode_answer,
    decode_command,
    decode_record,
    decode_tick,
    encode,
)
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import ModifyPosition, PlaceOrder, Side
from cryptocfd.trading.events import Accepted, QuoteUpdated
from cryptocfd.trading.rejections import RejectCode, Rejection


def test_command_message_when_encoded_and_decoded_is_unchanged_including_unset_fields() -> None:
    for command in (
        PlaceOrder("r1", 1, 7, "BTC", Side.SHORT, Cents(1_000), 5, take_profit=PriceTicks(10)),
        ModifyPosition("r2", 2, 7, 3, stop_loss=None),  # tp and trailing stay UNSET
    ):
        assert decode_command(encode(CommandMessage(command))).command == command


def test_record_when_encoded_and_decoded_keeps_its_outcome() -> None:
    for outcome in (
        Accepted((QuoteUpdated("BTC", PriceTicks(1), PriceTicks(2), PriceTicks(1), 5),)),
        Rejection(RejectCode.PRICE_STALE, "stale"),
    ):
        record = Record("command", "r", 5, outcome, applied=True)
        assert decode_record(encode(record)) == record


def test_tick_message_when_encoded_and_decoded_is_unchanged() -> None:
    tick = Tick("ETH", PriceTicks(300_000), PriceTicks(300_030), 99)
    assert decode_tick(encode(TickMessage(tick))).tick == tick


@pytest.mark.parametrize(
    ("data", "request_id"),
    [
        (b"\xc1", None),  # not msgpack at all
        (msgspec.msgpack.encode({"command": {"request_id": "abc"}}), "abc"),
        (msgspec.msgpack.encode({"command": {"type": "Explode", "request_id": "x"}}), "x"),
        (msgspec.msgpack.encode([1, 2, 3]), None),
    ],
)
def test_decode_command_when_unreadable_raises_bad_message_with_the_request_id(
    data: bytes, request_id: str | None
) -> None:
    with pytest.raises(BadMessage) as caught:
        decode_command(data)

    assert caught.value.request_id == request_id
    assert caught.value.rejection().code is RejectCode.INVALID_MESSAGE


def test_decode_command_when_the_version_is_unknown_raises_bad_message() -> None:
    command = PlaceOrder("r9", 1, 1, "BTC", Side.LONG, Cents(1), 1)
    data = encode(CommandMessage(command, v=VERSION + 1))

    with pytest.raises(BadMessage, match="version") as caught:
        decode_command(data)
    assert caught.value.request_id == "r9"


def test_answer_when_it_carries_a_commands_outcome_round_trips_with_both() -> None:
    outcome = Rejection(RejectCode.PRICE_STALE, "stale")
    view = Rejection(RejectCode.UNKNOWN_ACCOUNT, "no such account")
    answer = Answer("r", view, outcome=outcome)

    decoded = decode_answer(encode(answer))

    assert decoded == answer
    assert (decoded.request_id, decoded.v, decoded.outcome) == ("r", ANSWER_VERSION, outcome)
    assert decode_answer(encode(Answer("q", view))).outcome is None
