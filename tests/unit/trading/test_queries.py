"""Queries and the view a command asks for: pure functions of the state, by kind."""

from __future__ import annotations

from cryptocfd.trading.queries import (
    MAX_BALANCES_PAGE,
    GetBalances,
    GetPortfolio,
    answer,
    touched_order,
    view_after,
)
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Balances, Portfolio
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    SHORT,
    cancel,
    close,
    deposit,
    make_engine,
    modify,
    open_position,
    order,
    place_pending,
)


def test_answer_when_the_account_is_unknown_refuses_unknown_account() -> None:
    engine = make_engine()

    result = answer(engine.state, GetPortfolio("q", 404))

    assert isinstance(result, Rejection)
    assert result.code is RejectCode.UNKNOWN_ACCOUNT


def test_answer_when_a_balances_page_asks_for_more_than_the_cap_gets_the_cap() -> None:
    engine = make_engine(accounts=tuple(range(1, MAX_BALANCES_PAGE + 3)), bid=None)

    page = answer(engine.state, GetBalances("b", 0, MAX_BALANCES_PAGE + 2))

    assert isinstance(page, Balances)
    assert len(page.rows) == MAX_BALANCES_PAGE
    assert page.rows[-1].account_id == MAX_BALANCES_PAGE


def test_touched_order_when_an_order_opens_or_is_placed_is_its_new_id() -> None:
    engine = make_engine()
    market = order(LONG)
    opened = engine.apply(market)
    limit = order(SHORT, order_type=LIMIT, price=1_100)
    placed = engine.apply(limit)

    assert touched_order(market, opened) == 1
    assert touched_order(limit, placed) == 2


def test_touched_order_when_an_order_is_refused_is_none_or_the_one_it_names() -> None:
    engine = make_engine()
    too_big = order(LONG, margin=10**12)
    missing = close(77)

    assert touched_order(too_big, engine.apply(too_big)) is None
    assert touched_order(missing, engine.apply(missing)) == 77


def test_touched_order_when_a_position_or_entry_is_changed_is_that_order() -> None:
    engine = make_engine()
    position = open_position(engine, LONG).order_id
    entry = place_pending(engine, SHORT, LIMIT, 1_100).order_id
    commands = (modify(position, take_profit=1_200), cancel(entry), close(position))

    assert [touched_order(c, engine.apply(c)) for c in commands] == [position, entry, position]


def test_view_after_when_the_command_touches_no_order_has_the_figures_alone() -> None:
    engine = make_engine()
    open_position(engine, LONG)
    cash = deposit(5_000)

    view = view_after(engine.state, cash, engine.apply(cash))

    assert isinstance(view, Portfolio)
    assert (view.positions, view.pending) == ((), ())
    assert view.account.account_id == ACCOUNT
    assert view.account.used_margin == 10_000
