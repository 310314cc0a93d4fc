"""Withdrawals in two steps (docs/engine.md, "Accounts"): a hold sets cents aside from free
margin without moving the balance; a release gives them back, a payment takes them out."""

from __future__ import annotations

import msgspec

from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import (
    HoldWithdrawal,
    PayWithdrawal,
    ReleaseWithdrawal,
    ResetDemoAccount,
)
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import WithdrawalHeld, WithdrawalPaid, WithdrawalReleased
from cryptocfd.trading.rejections import RejectCode
from cryptocfd.trading.snapshot.image import EngineImage
from tests.unit.trading.builders import (
    LONG,
    OTHER,
    T0,
    TEST_ASSETS,
    code_of,
    events_of,
    make_engine,
    money_is_conserved,
    only,
    open_position,
    order,
    rid,
    view,
    withdraw,
)

BALANCE = 100_000  # 1,000.00


def hold(withdrawal_id: int, amount: int, *, account_id: int = 1) -> HoldWithdrawal:
    return HoldWithdrawal(rid(), T0, account_id, withdrawal_id, Cents(amount))


def release(withdrawal_id: int, *, account_id: int = 1) -> ReleaseWithdrawal:
    return ReleaseWithdrawal(rid(), T0, account_id, withdrawal_id)


def pay(withdrawal_id: int, *, account_id: int = 1) -> PayWithdrawal:
    return PayWithdrawal(rid(), T0, account_id, withdrawal_id)


def test_hold_when_within_free_margin_sets_it_aside_without_moving_the_balance() -> None:
    engine = make_engine(balance=BALANCE)

    held = only(engine.apply(hold(7, 30_000)), WithdrawalHeld)

    assert (held.withdrawal_id, held.account_id, held.amount) == (7, 1, 30_000)
    account = view(engine)
    assert (account.balance, account.free_margin, account.withdrawals_held) == (
        BALANCE,
        BALANCE - 30_000,
        30_000,
    )
    assert account.equity == BALANCE  # held money is still the trader's until it is paid


def test_hold_when_held_money_is_asked_for_again_refuses_margin_and_withdrawals() -> None:
    engine = make_engine(balance=BALANCE)
    engine.apply(hold(7, 60_000))

    assert code_of(engine.apply(hold(8, 40_001))) is RejectCode.INSUFFICIENT_BALANCE
    assert code_of(engine.apply(withdraw(40_001))) is RejectCode.INSUFFICIENT_BALANCE
    assert code_of(engine.apply(order(LONG, 40_001))) is RejectCode.INSUFFICIENT_BALANCE
    assert only(engine.apply(hold(8, 40_000)), WithdrawalHeld).amount == 40_000
    assert view(engine).free_margin == 0


def test_hold_when_margin_is_in_use_is_judged_against_free_margin() -> None:
    engine = make_engine(balance=BALANCE)
    open_position(engine, LONG, margin=25_000)

    assert code_of(engine.apply(hold(7, 75_001))) is RejectCode.INSUFFICIENT_BALANCE
    assert only(engine.apply(hold(7, 75_000)), WithdrawalHeld).amount == 75_000


def test_release_when_held_gives_exactly_the_held_cents_back() -> None:
    engine = make_engine(balance=BALANCE)
    engine.apply(hold(7, 30_000))

    released = only(engine.apply(release(7)), WithdrawalReleased)

    assert released.amount == 30_000
    assert (view(engine).free_margin, view(engine).withdrawals_held) == (BALANCE, 0)
    assert engine.state.withdrawals == {}


def test_pay_when_held_takes_the_held_cents_out_of_the_balance() -> None:
    engine = make_engine(balance=BALANCE)
    engine.apply(hold(7, 30_000))

    paid = only(engine.apply(pay(7)), WithdrawalPaid)

    assert paid.amount == 30_000
    account = view(engine)
    assert (account.balance, account.free_margin, account.withdrawals_held) == (70_000, 70_000, 0)
    assert engine.state.deposited == BALANCE - 30_000
    assert money_is_conserved(engine)


def test_pay_when_already_paid_or_released_is_not_found_and_changes_nothing() -> None:
    engine = make_engine(balance=BALANCE)
    engine.apply(hold(7, 30_000))
    engine.apply(hold(8, 10_000))
    engine.apply(pay(7))
    engine.apply(release(8))
    before = view(engine)

    assert code_of(engine.apply(pay(7))) is RejectCode.WITHDRAWAL_NOT_FOUND
    assert code_of(engine.apply(release(7))) is RejectCode.WITHDRAWAL_NOT_FOUND
    assert code_of(engine.apply(pay(8))) is RejectCode.WITHDRAWAL_NOT_FOUND
    assert (view(engine).balance, view(engine).free_margin) == (before.balance, before.free_margin)


def test_pay_when_repeated_under_its_request_id_answers_the_first_outcome_only_once() -> None:
    engine = make_engine(balance=BALANCE)
    engine.apply(hold(7, 30_000))
    payment = pay(7)

    first, again = engine.apply(payment), engine.apply(payment)

    assert first == again
    assert view(engine).balance == 70_000


def test_hold_when_another_account_asks_for_its_hold_is_not_found() -> None:
    engine = make_engine(balance=BALANCE, accounts=(1, OTHER))
    engine.apply(hold(7, 30_000))

    assert code_of(engine.apply(pay(7, account_id=OTHER))) is RejectCode.WITHDRAWAL_NOT_FOUND
    assert code_of(engine.apply(release(7, account_id=OTHER))) is RejectCode.WITHDRAWAL_NOT_FOUND
    assert code_of(engine.apply(hold(7, 1, account_id=OTHER))) is RejectCode.WITHDRAWAL_EXISTS
    assert view(engine).withdrawals_held == 30_000


def test_hold_when_the_amount_or_account_is_wrong_is_refused() -> None:
    engine = make_engine(balance=BALANCE)

    assert code_of(engine.apply(hold(7, 0))) is RejectCode.INVALID_AMOUNT
    assert code_of(engine.apply(hold(7, -5))) is RejectCode.INVALID_AMOUNT
    assert code_of(engine.apply(hold(7, 5, account_id=9))) is RejectCode.UNKNOWN_ACCOUNT
    assert code_of(engine.apply(pay(7, account_id=9))) is RejectCode.UNKNOWN_ACCOUNT
    assert engine.state.withdrawals == {}


def test_reset_when_withdrawals_are_held_releases_them_before_setting_the_balance() -> None:
    engine = make_engine(balance=BALANCE)
    engine.apply(hold(8, 10_000))
    engine.apply(hold(7, 20_000))

    events = events_of(engine.apply(ResetDemoAccount(rid(), T0, 1)))

    released = [e.withdrawal_id for e in events if isinstance(e, WithdrawalReleased)]
    assert released == [7, 8]
    assert view(engine).withdrawals_held == 0


def test_restore_when_withdrawals_are_held_keeps_them_and_hashes_the_same() -> None:
    engine = make_engine(balance=BALANCE, accounts=(1, OTHER))
    engine.apply(hold(7, 30_000))
    engine.apply(hold(9, 5_000, account_id=OTHER))
    data = msgspec.msgpack.encode(engine.image())

    restored = Engine.from_image(msgspec.msgpack.decode(data, type=EngineImage), TEST_ASSETS)

    assert restored.state_hash() == engine.state_hash()
    assert (view(restored).free_margin, view(restored, OTHER).withdrawals_held) == (70_000, 5_000)
    assert only(restored.apply(pay(7)), WithdrawalPaid).amount == 30_000


def test_restore_when_the_image_is_of_version_3_has_no_withdrawal_holds() -> None:
    engine = make_engine(balance=BALANCE)
    older = msgspec.msgpack.decode(msgspec.msgpack.encode(engine.image()))
    older["version"] = 3
    del older["withdrawals"]

    restored = Engine.from_image(
        msgspec.msgpack.decode(msgspec.msgpack.encode(older), type=EngineImage), TEST_ASSETS
    )

    assert restored.state.withdrawals == {}
    assert view(restored).free_margin == BALANCE
