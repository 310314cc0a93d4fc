"""The engine's state and the only code that changes it: ``State.evolve(event)``.

Replaying the same events into a fresh ``State`` rebuilds the same state, so recovery is a
snapshot plus the events after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, Protocol

import msgspec

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import BPS, Bps, Cents
from cryptocfd.trading.book import (
    OPEN_CONTROLS,
    Account,
    AssetControls,
    AssetState,
    HeldTick,
    PendingOrder,
    Position,
    Quote,
    WithdrawalHold,
)
from cryptocfd.trading.commands import LONG
from cryptocfd.trading.events import (
    ORDER_EVENTS,
    AccountOpened,
    AssetControlsSet,
    Event,
    FundsDeposited,
    FundsWithdrawn,
    MarginCalled,
    OrderCancelled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionModified,
    PositionOpened,
    QuoteUpdated,
    TickHeld,
    WithdrawalHeld,
    WithdrawalPaid,
    WithdrawalReleased,
)
from cryptocfd.trading.risk import HouseRisk
from cryptocfd.trading.triggers import TriggerBook


class AccountView(msgspec.Struct, frozen=True):
    """An account as a trader sees it, in cents; no margin used means no margin level."""

    account_id: int
    balance: Cents
    equity: Cents
    used_margin: Cents
    free_margin: Cents
    margin_level_bps: Bps | None
    unrealized_pnl: Cents
    seq: int = 0  # the account's order events so far (``Account.seq``)
    withdrawals_held: Cents = Cents(0)  # set aside for withdrawals: in no free margin


class Thawing(Protocol):
    """What a restore left cold (``snapshot.cold.ColdBook``), as the state sees it: named
    here so the rules never import the snapshot machinery."""

    def warm(self, count: int) -> bool:
        """Thaw about ``count`` accounts; whether nothing is left cold."""
        ...

    def thaw_all(self) -> None:
        """Thaw everything still cold."""
        ...


class State:
    """Accounts, positions, pending entries, quotes and their trigger indexes."""

    def __init__(self, assets: Iterable[AssetSpec]) -> None:
        self.assets: dict[str, AssetState] = {}
        self.triggers: dict[str, TriggerBook] = {}
        # Plain dicts, except after a restore until every account is thawed (see ``cold``).
        self.accounts: MutableMapping[int, Account] = {}
        self.positions: MutableMapping[int, Position] = {}
        self.pending: dict[int, PendingOrder] = {}
        self.withdrawals: dict[int, WithdrawalHold] = {}  # held ones, by withdrawal id
        self.cold: Thawing | None = None
        for spec in assets:
            self.assets[spec.symbol] = AssetState(spec)
            self.triggers[spec.symbol] = TriggerBook(self.positions, self.pending, spec)
        self.risk = HouseRisk(self.assets)
        self.house_balance = Cents(0)
        self.deposited = Cents(0)
        self.next_order_id = 1
        self.quote_epoch = 0  # counts accepted quotes of every asset: the PnL caches' clock
        # Event type -> the method that applies it; public so the engine's loop can skip a call.
        self.evolvers: dict[type[Any], Callable[[Any], None]] = {
            AccountOpened: self._account_opened,
            FundsDeposited: self._funds_deposited,
            FundsWithdrawn: self._funds_withdrawn,
            WithdrawalHeld: self._withdrawal_held,
            WithdrawalReleased: self._withdrawal_released,
            WithdrawalPaid: self._withdrawal_paid,
            QuoteUpdated: self._quote_updated,
            TickHeld: self._tick_held,
            OrderPlaced: self._order_placed,
            OrderCancelled: self._order_released,
            OrderExpired: self._order_released,
            OrderRejected: self._order_released,
            PositionOpened: self._position_opened,
            PositionModified: self._position_modified,
            PositionClosed: self._position_closed,
            AssetControlsSet: self._controls_set,
            MarginCalled: self._margin_called,
        }

    def settle(self, accounts: dict[int, Account], positions: dict[int, Position]) -> None:
        """Take the plain dicts back once every restored account is thawed."""
        self.accounts, self.positions = accounts, positions
        for triggers in self.triggers.values():
            triggers.positions = positions
        self.cold = None

    def evolve(self, event: Event) -> None:
        """Apply one event to the state."""
        self.evolvers[type(event)](event)

    # -- queries ----------------------------------------------------------------------------

    def position_pnl(self, pos: Position) -> Cents:
        """Unrealized PnL of a position at its closing price (bid for a long, ask for a short).

        This is ``margin.capped_pnl`` written out: it runs for every open and close.
        """
        asset = self.assets[pos.asset]
        quote = asset.quote
        assert quote is not None  # a position exists only once its asset has a quote
        if pos.long:
            value = (quote.bid - pos.open_price) * pos.quantity // asset.divisor
        else:
            value = (pos.open_price - quote.ask) * pos.quantity // asset.divisor
        return value if value > -pos.margin else -pos.margin

    def unrealized_pnl(self, account: Account) -> Cents:
        """Sum of the account's positions' unrealized PnL, recomputed once per quote epoch."""
        if account.epoch != self.quote_epoch:
            position_pnl = self.position_pnl
            account.pnl = sum([position_pnl(p) for p in account.positions.values()], Cents(0))
            account.epoch = self.quote_epoch
        return account.pnl

    def free_margin(self, account: Account) -> Cents:
        """What new margin or a withdrawal may use: cash plus unrealized losses, less margin
        in use. Unrealized profit is not free until it is realized, so that margin always
        stands on cash and, with each position's loss capped at its margin, no balance can go
        below zero."""
        pnl = account.pnl if account.epoch == self.quote_epoch else self.unrealized_pnl(account)
        free = account.balance - account.used_margin - account.held
        return free + pnl if pnl < 0 else free

    def account_view(self, account: Account) -> AccountView:
        """Balance, equity, used and free margin, margin level and unrealized PnL."""
        upnl = self.unrealized_pnl(account)
        equity = account.balance + upnl
        used = account.used_margin
        return AccountView(
            account_id=account.id,
            balance=account.balance,
            equity=equity,
            used_margin=used,
            free_margin=self.free_margin(account),
            margin_level_bps=Bps(equity * BPS // used) if used else None,
            unrealized_pnl=upnl,
            seq=account.seq,
            withdrawals_held=account.held,
        )

    def seqs_after(self, events: tuple[Event, ...]) -> tuple[int, ...] | None:
        """Each event's number on its account's ``orders`` channel (0 for an event that is
        not an order event), read from the state just after ``events`` were applied; ``None``
        when none of them is an order event (nearly every tick)."""
        if len(events) == 1 and type(events[0]) is QuoteUpdated:
            return None  # a plain tick: the common case, answered without a loop
        order_events = ORDER_EVENTS
        if not any(isinstance(event, order_events) for event in events):
            return None
        accounts = self.accounts
        newest: dict[int, int] = {}  # account id -> the seq of its next event, going back
        seqs = [0] * len(events)
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if isinstance(event, order_events):
                account_id = event.account_id
                seq = newest.get(account_id)
                if seq is None:
                    seq = accounts[account_id].seq
                seqs[index] = seq
                newest[account_id] = seq - 1
        return tuple(seqs)

    # -- evolvers ---------------------------------------------------------------------------

    def _account_opened(self, e: AccountOpened) -> None:
        self.accounts[e.account_id] = Account(e.account_id, e.balance)
        self.deposited += e.balance

    def _funds_deposited(self, e: FundsDeposited) -> None:
        self.accounts[e.account_id].balance += e.amount
        self.deposited += e.amount

    def _funds_withdrawn(self, e: FundsWithdrawn) -> None:
        self.accounts[e.account_id].balance -= e.amount
        self.deposited -= e.amount

    def _withdrawal_held(self, e: WithdrawalHeld) -> None:
        self.withdrawals[e.withdrawal_id] = WithdrawalHold(e.account_id, e.amount)
        self.accounts[e.account_id].held += e.amount

    def _withdrawal_released(self, e: WithdrawalReleased) -> None:
        del self.withdrawals[e.withdrawal_id]
        self.accounts[e.account_id].held -= e.amount

    def _withdrawal_paid(self, e: WithdrawalPaid) -> None:
        del self.withdrawals[e.withdrawal_id]
        account = self.accounts[e.account_id]
        account.held -= e.amount
        account.balance -= e.amount
        self.deposited -= e.amount

    def _quote_updated(self, e: QuoteUpdated) -> None:
        asset = self.assets[e.asset]
        quote = asset.quote
        if quote is None:
            asset.quote = Quote(e.bid, e.ask, e.mark, e.ts)
        else:
            quote.bid, quote.ask, quote.mark, quote.ts = e.bid, e.ask, e.mark, e.ts
        asset.held = None
        self.quote_epoch += 1
        triggers = self.triggers[e.asset]
        triggers.follow(e.bid, e.ask)
        triggers.rearm(e.mark)

    def _controls_set(self, e: AssetControlsSet) -> None:
        controls = AssetControls(e.mode, e.max_net_exposure, e.max_live_leverage)
        # The default is kept as the one object the hot paths compare with.
        self.assets[e.asset].controls = OPEN_CONTROLS if controls == OPEN_CONTROLS else controls

    def _tick_held(self, e: TickHeld) -> None:
        self.assets[e.asset].held = HeldTick(e.bid, e.ask, e.ts)

    def _order_placed(self, e: OrderPlaced) -> None:
        order = PendingOrder(
            e.order_id,
            e.account_id,
            e.asset,
            e.side is LONG,
            e.order_type,
            e.price,
            e.margin,
            e.leverage,
            e.take_profit,
            e.stop_loss,
            e.trailing_distance,
            e.expires_at,
            e.ts,
            e.quantity,
        )
        self.pending[e.order_id] = order
        account = self.accounts[e.account_id]
        account.pending[e.order_id] = order
        account.used_margin += e.margin
        account.seq += 1
        self.triggers[e.asset].add_pending(order)
        self.next_order_id = max(self.next_order_id, e.order_id + 1)

    def _remove_pending(self, order_id: int) -> PendingOrder:
        order = self.pending.pop(order_id)
        del self.accounts[order.account_id].pending[order_id]
        self.triggers[order.asset].forget(1 if order.expires_at is None else 2)
        return order

    def _order_released(self, e: OrderCancelled | OrderExpired | OrderRejected) -> None:
        order = self._remove_pending(e.order_id)
        account = self.accounts[order.account_id]
        account.used_margin -= order.margin
        account.seq += 1

    def _position_opened(self, e: PositionOpened) -> None:
        account = self.accounts[e.account_id]
        order_id = e.order_id
        if order_id in self.pending:
            # Its reserved margin backs the position, give or take the change a quantity-sized
            # entry's margin makes at the fill's price.
            account.used_margin += e.margin - self._remove_pending(order_id).margin
        else:
            account.used_margin += e.margin
        pos = Position(
            order_id,
            account.id,  # shares the account's int: one less object per position
            e.asset,
            e.side is LONG,
            e.margin,
            e.leverage,
            e.quantity,
            e.open_price,
            e.liquidation_price,
            e.take_profit,
            e.stop_loss,
            e.trailing_distance,
            e.ts,
        )
        self.positions[order_id] = pos
        account.positions[order_id] = pos
        account.seq += 1
        self.risk.opened(e)
        asset = self.assets[e.asset]
        if account.epoch == self.quote_epoch:
            # position_pnl(pos) written out: this runs on every open.
            quote = asset.quote
            assert quote is not None
            if pos.long:
                value = (quote.bid - e.open_price) * e.quantity // asset.divisor
            else:
                value = (e.open_price - quote.ask) * e.quantity // asset.divisor
            account.pnl += value if value > -e.margin else -e.margin
        triggers = self.triggers[e.asset]
        triggers.add_liquidation(pos)
        quote = asset.quote
        assert quote is not None
        triggers.add_margin_call(pos, quote.mark)
        if e.take_profit is not None or e.stop_loss is not None or e.trailing_distance is not None:
            quote = asset.quote
            assert quote is not None
            triggers.add_exits(pos, quote.bid, quote.ask)
        if order_id >= self.next_order_id:
            self.next_order_id = order_id + 1

    def _position_modified(self, e: PositionModified) -> None:
        pos = self.positions[e.order_id]
        triggers = self.triggers[pos.asset]
        stale = (pos.take_profit is not None) + (pos.stop_loss is not None)
        pos.take_profit, pos.stop_loss = e.take_profit, e.stop_loss
        if e.rearm_trailing or e.trailing_distance is None:
            triggers.disarm_trailing(pos)
        pos.trailing_distance = e.trailing_distance
        quote = self.assets[pos.asset].quote
        assert quote is not None
        triggers.add_exits(pos, quote.bid, quote.ask)
        triggers.forget(stale)
        self.accounts[pos.account_id].seq += 1

    def _position_closed(self, e: PositionClosed) -> None:
        order_id = e.order_id
        pos = self.positions[order_id]
        account = self.accounts[e.account_id]
        cached = account.epoch == self.quote_epoch
        account.balance += e.pnl
        self.house_balance -= e.pnl
        account.used_margin -= e.margin
        account.seq += 1
        self.risk.closed(e)
        triggers = self.triggers[pos.asset]
        if not e.remaining_quantity:
            if cached:  # closed whole at this very quote, its PnL is what it contributed
                account.pnl -= e.pnl
            del self.positions[order_id]
            del account.positions[order_id]
            if pos.trail_group is not None:
                triggers.disarm_trailing(pos)
            # Its liquidation and margin-call entries, and its exits.
            triggers.forget(2 + (pos.take_profit is not None) + (pos.stop_loss is not None))
            return
        if cached:
            account.pnl -= self.position_pnl(pos)
        assert e.liquidation_price is not None
        pos.quantity = e.remaining_quantity
        pos.margin = e.remaining_margin
        pos.liquidation_price = e.liquidation_price
        triggers.add_liquidation(pos)
        quote = self.assets[pos.asset].quote
        assert quote is not None
        triggers.add_margin_call(pos, quote.mark)
        triggers.forget(2)  # the old liquidation and margin-call entries
        if cached:
            account.pnl += self.position_pnl(pos)

    def _margin_called(self, e: MarginCalled) -> None:
        self.triggers[e.asset].add_rearm(self.positions[e.order_id])
        self.accounts[e.account_id].seq += 1
