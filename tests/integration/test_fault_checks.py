"""The fault run's log check can fail: it counts an acknowledged request missing from the log as
lost, one applied twice (or an order made twice) as doubled, and an old leader's record after
a newer leader's as a fencing failure."""

from __future__ import annotations

from cryptocfd.bus.messages import Record
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.commands import OrderType, Side
from cryptocfd.trading.events import Accepted, PositionOpened
from tests.integration.fault_checks import Verdict, check_log
from tests.integration.fault_load import Ack, Load


def opened(request_id: str, order_id: int, epoch: int = 1) -> Record:
    event = PositionOpened(
        order_id, 7, "BTC", Side.LONG, OrderType.MARKET, Cents(1_000), 2, QtyUnits(1),
        PriceTicks(6_400_000),
        PriceTicks(3_300_000),
        None, None, None, 0,
    )  # fmt: skip
    return Record("command", request_id, 0, Accepted((event,)), applied=True, epoch=epoch)


def load_told(*acks: tuple[str, int]) -> Load:
    load = Load("http://127.0.0.1:1")
    load.acks = [Ack("create", rid, {"order_id": order_id}, 0.0) for rid, order_id in acks]
    return load


def test_check_log_when_every_ack_is_logged_once_finds_nothing() -> None:
    verdict = Verdict()
    check_log([opened("a", 1), opened("b", 2, epoch=2)], load_told(("a", 1), ("b", 2)), verdict)

    assert (verdict.lost, verdict.doubled, verdict.problems) == (0, 0, [])


def test_check_log_when_an_ack_is_missing_counts_it_lost() -> None:
    verdict = Verdict()
    check_log([opened("a", 1)], load_told(("a", 1), ("b", 2)), verdict)

    assert (verdict.lost, verdict.doubled) == (1, 0)
    assert verdict.problems == ["acknowledged but not in the log: create b"]


def test_check_log_when_a_request_is_applied_twice_counts_it_doubled() -> None:
    verdict = Verdict()
    check_log([opened("a", 1), opened("a", 1)], load_told(("a", 1)), verdict)

    assert verdict.doubled == 2  # the request id, and the order it made
    assert verdict.lost == 0


def test_check_log_when_the_answer_names_another_order_says_so() -> None:
    verdict = Verdict()
    check_log([opened("a", 1)], load_told(("a", 9)), verdict)

    assert len(verdict.problems) == 1
    assert "answered {'order_id': 9}" in verdict.problems[0]


def test_check_log_when_an_old_epoch_writes_after_a_newer_one_says_so() -> None:
    verdict = Verdict()
    check_log([opened("a", 1), opened("b", 2, epoch=2), opened("c", 3)], load_told(), verdict)

    assert verdict.problems == ["a record of an older epoch follows a newer one: [1, 2]"]
