"""Deciding a tick: the sanity band, then expiries, entry fills and exits, in a fixed order.

The order, documented in ``docs/engine.md``:

1. A tick for an unknown asset, with ``bid <= 0`` or ``ask < bid``, or older than the current
   quote is rejected. A tick whose mid moves beyond the sanity band from the current mark is
   held (``TickHeld``) until the next tick lands within the band of it.
2. ``QuoteUpdated`` with the house markup; trailing peaks and troughs follow the new quote.
3. Pending entries of the asset that expire at or before the tick's time: ``OrderExpired``,
   by order id.
4. Pending entries the quote crossed fill at the quote (buys at the ask, sells at the bid):
   ``PositionOpened``, by order id; one that cannot fill gets ``OrderRejected``.
5. Exits, including those of positions just filled: ``PositionClosed`` by order id, each for
   one reason: liquidation (mark) before stop-loss before trailing stop before take-profit.
6. Margin calls of the positions still open that the mark reached from above their call price:
   ``MarginCalled`` by order id (a position closed in step 5 gets only its close).
"""

from __future__ import annotations

from heapq import heappop

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import BPS, Bps, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.book import OPEN_CONTROLS, AssetState, PendingOrder
from cryptocfd.trading.controls import exposure_problem, halted_problem
from cryptocfd.trading.decide import Decision, close_event, open_event, reject
from cryptocfd.trading.events import (
    CloseReason,
    Event,
    MarginCalled,
    OrderExpired,
    OrderRejected,
    PositionOpened,
    QuoteUpdated,
    TickHeld,
)
from cryptocfd.trading.margin import margin_for, margin_level_bps
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import State
from cryptocfd.trading.triggers import (
    ENTRY,
    ID_MASK,
    KIND_SHIFT,
    LEVEL_SHIFT,
    TRAILING,
    TriggerBook,
    decode,
    down_threshold,
    up_threshold,
)

REASONS = (
    CloseReason.LIQUIDATED,
    CloseReason.STOP_LOSS,
    CloseReason.TRAILING_STOP,
    CloseReason.TAKE_PROFIT,
)


# The lowest bid the house quotes.
ONE_TICK = PriceTicks(1)


def _markup(price: PriceTicks, bps: Bps) -> PriceTicks:
    return -(-price * bps // (2 * BPS))


def house_quote(spec: AssetSpec, bid: PriceTicks, ask: PriceTicks) -> tuple[PriceTicks, PriceTicks]:
    """The house's bid and ask for a feed quote: half the markup off the bid (never below one
    tick) and half onto the ask, each half rounded up, toward the house."""
    markup = spec.spread_markup_bps
    house_bid = bid - _markup(bid, markup)
    return (house_bid if house_bid > 0 else ONE_TICK), ask + _markup(ask, markup)


def accept_quote(state: State, tick: Tick) -> QuoteUpdated | TickHeld | Rejection:
    """Step 1: the event a tick makes, before any trigger is looked at."""
    asset = state.assets.get(tick.asset)
    if asset is None:
        return reject(RejectCode.UNKNOWN_ASSET, f"unknown asset {tick.asset!r}")
    bid, ask = tick.bid, tick.ask
    if bid <= 0 or ask < bid:
        return reject(RejectCode.INVALID_QUOTE, "a quote needs 0 < bid <= ask")
    mid = (bid + ask) // 2
    spec = asset.spec
    quote = asset.quote
    if quote is not None:
        if tick.ts < quote.ts:
            return reject(RejectCode.TICK_OUT_OF_ORDER, "the tick is older than the current quote")
        band = spec.sanity_band_bps
        mark = quote.mark
        if abs(mid - mark) * BPS > band * mark:
            held = asset.held
            confirmed = held is not None and (
                abs(mid - (held_mid := (held.bid + held.ask) // 2)) * BPS <= band * held_mid
            )
            if not confirmed:
                return TickHeld(tick.asset, bid, ask, tick.ts)
    house_bid, house_ask = house_quote(spec, bid, ask)
    return QuoteUpdated(tick.asset, house_bid, house_ask, mid, tick.ts)


def decide_tick(state: State, tick: Tick) -> Decision:
    """Every event a tick causes, evolving the state as it goes (later steps see earlier ones)."""
    first = accept_quote(state, tick)
    if isinstance(first, Rejection):
        return first
    quote = state.assets[tick.asset].quote
    before = None if quote is None else quote.mark  # the quote is updated in place
    state.evolve(first)
    if type(first) is TickHeld:
        return (first,)
    assert isinstance(first, QuoteUpdated)
    triggers = state.triggers[tick.asset]
    expiry = triggers.expiry
    # The common case, nothing reached: six heap tops and the expiry heap, then done.
    if not (expiry and expiry[0] >> KIND_SHIFT <= tick.ts) and not _reached(
        triggers, first.bid, first.ask, first.mark
    ):
        return (first,)
    events: list[Event] = [first]
    asset = state.assets[tick.asset]
    if expiry and expiry[0] >> KIND_SHIFT <= tick.ts:
        _expire(state, triggers, tick.ts, events)
    entries, exits = _collect(triggers, asset)
    if entries:
        for order_id in sorted(entries):
            _fill(state, asset, state.pending[order_id], tick.ts, events)
        more_entries, more_exits = _collect(triggers, asset)
        assert not more_entries
        for order_id, kind in more_exits.items():
            if kind < exits.get(order_id, ENTRY):
                exits[order_id] = kind
    for order_id in sorted(exits):
        pos = state.positions[order_id]
        event = close_event(
            state, asset, order_id, REASONS[exits[order_id]], pos.quantity, pos.margin, tick.ts
        )
        state.evolve(event)
        events.append(event)
    if before is not None:
        _margin_calls(state, asset, triggers, before, first, events)
    return tuple(events)


def _margin_calls(
    state: State,
    asset: AssetState,
    triggers: TriggerBook,
    before: PriceTicks,
    quote: QuoteUpdated,
    events: list[Event],
) -> None:
    """Step 6, after the exits, so a position closed on this tick is no longer there."""
    mark, divisor = quote.mark, asset.divisor
    for order_id in sorted(triggers.margin_calls(before, mark)):
        pos = state.positions[order_id]
        level = margin_level_bps(pos.long, pos.open_price, mark, pos.quantity, pos.margin, divisor)
        event = MarginCalled(order_id, pos.account_id, pos.asset, mark, level, quote.ts)
        state.evolve(event)
        events.append(event)


def _reached(triggers: TriggerBook, bid: PriceTicks, ask: PriceTicks, mark: PriceTicks) -> bool:
    """Whether any heap's top fires at this quote (see the key layout in ``triggers``)."""
    heap = triggers.mark_down
    if heap and heap[0] < (1 - mark) << LEVEL_SHIFT:
        return True
    heap = triggers.mark_up
    if heap and heap[0] < (mark + 1) << LEVEL_SHIFT:
        return True
    heap = triggers.bid_down
    if heap and heap[0] < (1 - bid) << LEVEL_SHIFT:
        return True
    heap = triggers.bid_up
    if heap and heap[0] < (bid + 1) << LEVEL_SHIFT:
        return True
    heap = triggers.ask_down
    if heap and heap[0] < (1 - ask) << LEVEL_SHIFT:
        return True
    heap = triggers.ask_up
    if heap and heap[0] < (ask + 1) << LEVEL_SHIFT:
        return True
    heap = triggers.call_down
    if heap and heap[0] < (1 - mark) << LEVEL_SHIFT:
        return True
    heap = triggers.call_up
    return bool(heap) and heap[0] < (mark + 1) << LEVEL_SHIFT


def _expire(state: State, triggers: TriggerBook, ts: int, events: list[Event]) -> None:
    expired = []
    heap = triggers.expiry
    while heap and heap[0] >> KIND_SHIFT <= ts:
        key = heappop(heap)
        order = state.pending.get(key & ID_MASK)
        if order is not None and order.expires_at == key >> KIND_SHIFT:
            expired.append(order)
    for order in sorted(expired, key=lambda o: o.id):
        event = OrderExpired(order.id, order.account_id, order.margin, ts)
        state.evolve(event)
        events.append(event)


def _collect(triggers: TriggerBook, asset: AssetState) -> tuple[set[int], dict[int, int]]:
    """Pop every trigger the quote reached: (entries to fill, exits by order id -> kind)."""
    quote = asset.quote
    assert quote is not None
    entries: set[int] = set()
    exits: dict[int, int] = {}
    for heap, threshold, down, price in (
        (triggers.mark_down, down_threshold(quote.mark), True, quote.mark),
        (triggers.mark_up, up_threshold(quote.mark), False, quote.mark),
        (triggers.bid_down, down_threshold(quote.bid), True, quote.bid),
        (triggers.bid_up, up_threshold(quote.bid), False, quote.bid),
        (triggers.ask_down, down_threshold(quote.ask), True, quote.ask),
        (triggers.ask_up, up_threshold(quote.ask), False, quote.ask),
    ):
        while heap and heap[0] < threshold:
            key = heappop(heap)
            level, kind, ident = decode(key, down)
            if kind == TRAILING:
                for order_id in triggers.fire_group(ident, level, price):
                    if kind < exits.get(order_id, ENTRY):
                        exits[order_id] = kind
            elif not triggers.is_live(key, down):
                continue
            elif kind == ENTRY:
                entries.add(ident)
            elif kind < exits.get(ident, ENTRY):
                exits[ident] = kind
    return entries, exits


def _fill(
    state: State, asset: AssetState, order: PendingOrder, ts: int, events: list[Event]
) -> None:
    quote = asset.quote
    assert quote is not None
    long = order.long
    price = quote.ask if long else quote.bid
    event = _fill_event(state, asset, order, price, ts)
    if isinstance(event, Rejection):
        rejected = OrderRejected(order.id, order.account_id, order.margin, event.code, ts)
        state.evolve(rejected)
        events.append(rejected)
        return
    state.evolve(event)
    events.append(event)


def _fill_event(
    state: State, asset: AssetState, order: PendingOrder, price: PriceTicks, ts: int
) -> PositionOpened | Rejection:
    """The position ``order`` opens at ``price``, or why it cannot.

    An entry sized by quantity posts its margin at the fill's price, as a market order does:
    a stop that fills past its own price after a gap would otherwise hold a notional its
    leverage does not cover. Any increase over what it reserved comes from free margin.
    """
    problem = halted_problem(asset)
    if problem is not None:
        return problem
    margin, quantity = order.margin, order.quantity
    if quantity is not None:
        margin = margin_for(quantity, price, order.leverage, asset.divisor)
        if margin - order.margin > state.free_margin(state.accounts[order.account_id]):
            return reject(
                RejectCode.INSUFFICIENT_BALANCE,
                "the margin at the fill's price exceeds the free margin",
            )
    event = open_event(
        asset,
        order,
        long=order.long,
        price=price,
        order_type=order.order_type,
        order_id=order.id,
        ts=ts,
        margin=margin,
        quantity=quantity,
    )
    if isinstance(event, PositionOpened) and asset.controls is not OPEN_CONTROLS:
        problem = exposure_problem(state, asset, order.account_id, order.long, event.quantity)
        if problem is not None:
            return problem
    return event
