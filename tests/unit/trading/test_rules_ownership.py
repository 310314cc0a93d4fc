"""Ownership: an account asking about an order that is not its own gets ORDER_NOT_FOUND, and
nothing about the order changes."""

from __future__ import annotations

from cryptocfd.trading.engine import Engine
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    LIMIT,
    LONG,
    OTHER,
    SHORT,
    cancel,
    close,
    code_of,
    events_of,
    make_engine,
    modify,
    open_position,
    place_pending,
    view,
)


def _engine_where_account_one_owns_everything() -> Engine:
    engine = make_engine(bid=1000, accounts=(1, OTHER), balance=100_000)
    open_position(engine, LONG, take_profit=1100)  # id 1
    place_pending(engine, SHORT, LIMIT, 1050)  # id 2
    return engine


def test_cancel_order_when_entry_belongs_to_another_account_rejects_order_not_found() -> None:
    engine = _engine_where_account_one_owns_everything()

    assert code_of(engine.apply(cancel(2, account_id=OTHER))) == RejectCode.ORDER_NOT_FOUND
    assert list(engine.state.pending) == [2]
    assert view(engine).used_margin == 20_000


def test_close_position_when_position_belongs_to_another_account_rejects_order_not_found() -> None:
    engine = _engine_where_account_one_owns_everything()

    for fraction in (10_000, 5_000):
        outcome = engine.apply(close(1, fraction, account_id=OTHER))
        assert code_of(outcome) == RejectCode.ORDER_NOT_FOUND
    assert engine.state.positions[1].quantity == 100_000_000


def test_modify_position_when_position_belongs_to_another_account_rejects_order_not_found() -> None:
    engine = _engine_where_account_one_owns_everything()

    outcome = engine.apply(modify(1, take_profit=None, account_id=OTHER))

    assert code_of(outcome) == RejectCode.ORDER_NOT_FOUND
    assert engine.state.positions[1].take_profit == 1100


def test_cancel_order_when_id_is_foreign_answers_exactly_as_for_an_unknown_id() -> None:
    # A foreign id and an id that never existed are indistinguishable to the caller.
    engine = _engine_where_account_one_owns_everything()

    foreign = engine.apply(cancel(2, account_id=OTHER))
    unknown = engine.apply(cancel(999, account_id=OTHER))

    assert foreign == unknown


def test_owner_when_acting_on_its_own_orders_is_accepted() -> None:
    engine = _engine_where_account_one_owns_everything()

    events_of(engine.apply(modify(1, take_profit=None)))
    events_of(engine.apply(cancel(2)))
    events_of(engine.apply(close(1)))
    assert view(engine, OTHER).balance == 100_000
