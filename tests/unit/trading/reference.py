"""A naive reference model of the trading engine, written from ``docs/engine.md`` alone.

It shares nothing with the engine but the vocabulary (commands, events, rejection codes, asset
specs): plain lists and dicts, no indexes, no caches. Every tick scans every position and every
pending entry, and every trailing stop keeps its own peak (longs) or trough (shorts), moved on
every accepted quote; margin calls compare every position's call price with the mark before and
after each tick. Slow on purpose, so that it is obviously right; the differential tests
assert that the engine produces exactly the same events and rejection codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from msgspec import UNSET

from cryptocfd.core.accounts import AccountKind
from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import (
    BPS,
    QTY_DECIMALS,
    Bps,
    Cents,
    PriceTicks,
    QtyUnits,
    scaled_or_none,
)
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Command,
    Deposit,
    HoldWithdrawal,
    ModifyPosition,
    OpenAccount,
    OrderType,
    PayWithdrawal,
    PlaceOrder,
    ReleaseWithdrawal,
    ResetDemoAccount,
    SetAssetControls,
    Side,
    Withdraw,
)
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.events import (
    Accepted,
    AccountOpened,
    AssetControlsSet,
    CloseReason,
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
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Risk
from tests.unit.trading.reference_risk import (
    RefControls,
    brute_risk,
    exposure_refused,
    halted,
    order_refused,
    record_closes,
)

DAY_MS = 86_400_000

Outcome = Accepted | Rejection


def refuse(code: RejectCode) -> Rejection:
    """A rejection; only the code is part of the contract."""
    return Rejection(code, f"reference: {code}")


def value_divisor(spec: AssetSpec) -> int:
    """``D = 10^(price_decimals + 6)``: ``price * quantity // D`` is cents."""
    return int(10 ** (spec.price_decimals + 6))


def quantity_step(spec: AssetSpec) -> int:
    """``step = 10^(8 - quantity_decimals)``: the smallest quantity."""
    return int(10 ** (QTY_DECIMALS - spec.quantity_decimals))


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for a positive ``b``."""
    return -(-a // b)


@dataclass
class RefAccount:
    """Cash only: used margin is always recomputed from the positions and entries."""

    account_id: int
    balance: int


@dataclass
class RefQuote:
    """The house quote of an asset."""

    bid: int
    ask: int
    mark: int
    ts: int


@dataclass
class RefPosition:
    """An open position; ``extreme`` is the trailing stop's own peak (long) or trough (short)."""

    order_id: int
    account_id: int
    asset: str
    side: Side
    margin: int
    leverage: int
    quantity: int
    open_price: int
    liquidation_price: int
    take_profit: int | None
    stop_loss: int | None
    trailing_distance: int | None
    opened_at: int
    extreme: int | None

    @property
    def long(self) -> bool:
        return self.side is Side.LONG


@dataclass
class RefPending:
    """A limit or stop entry waiting for the quote."""

    order_id: int
    account_id: int
    asset: str
    side: Side
    order_type: OrderType
    price: int
    margin: int
    leverage: int
    take_profit: int | None
    stop_loss: int | None
    trailing_distance: int | None
    expires_at: int | None
    placed_at: int
    quantity: int | None  # set when sized by quantity: the fill opens exactly this

    @property
    def long(self) -> bool:
        return self.side is Side.LONG


@dataclass(frozen=True)
class RefAccountView:
    """The account figures of the doc's "Accounts" section."""

    account_id: int
    balance: int
    equity: int
    used_margin: int
    free_margin: int
    margin_level_bps: int | None
    unrealized_pnl: int


def capped_pnl(
    long: bool, open_price: int, close_price: int, qty: int, margin: int, divisor: int
) -> int:
    """PnL of closing ``qty``, floored, never below ``-margin``."""
    move = close_price - open_price if long else open_price - close_price
    return max(move * qty // divisor, -margin)


def margin_held(quantity: int, price: int, leverage: int, spec: AssetSpec) -> int:
    """The margin a quantity-sized order posts: ``quantity * price / (D * leverage)``, the
    smallest whole cent at or above it."""
    exact = quantity * price
    per_cent = value_divisor(spec) * leverage
    return exact // per_cent + (1 if exact % per_cent else 0)


def liquidation_level(long: bool, open_price: int, qty: int, margin: int, spec: AssetSpec) -> int:
    """``open -/+ margin * (10000 - maintenance) * D // (quantity * 10000)``."""
    dist = margin * (BPS - spec.maintenance_bps) * value_divisor(spec) // (qty * BPS)
    return open_price - dist if long else open_price + dist


def margin_call_level(long: bool, open_price: int, qty: int, margin: int, spec: AssetSpec) -> int:
    """``open -/+ margin * (10000 - margin_call) * D // (quantity * 10000)``."""
    dist = margin * (BPS - spec.margin_call_bps) * value_divisor(spec) // (qty * BPS)
    return open_price - dist if long else open_price + dist


def under_margin_call(pos: RefPosition, mark: int, spec: AssetSpec) -> bool:
    """Whether ``mark`` is at or past the position's margin-call price."""
    level = margin_call_level(pos.long, pos.open_price, pos.quantity, pos.margin, spec)
    return mark <= level if pos.long else mark >= level


def crosses(long: bool, order_type: OrderType, price: int, bid: int, ask: int) -> bool:
    """Whether a pending entry's watched side of the quote has reached its price."""
    if long:
        return ask <= price if order_type is OrderType.LIMIT else ask >= price
    return bid >= price if order_type is OrderType.LIMIT else bid <= price


def exits_problem(long: bool, reference: int, tp: int | None, sl: int | None) -> Rejection | None:
    """Rule 11: a long needs tp > c and 0 < sl < c, a short 0 < tp < c and sl > c."""
    if tp is not None and not (tp > reference if long else 0 < tp < reference):
        return refuse(RejectCode.INVALID_TAKE_PROFIT)
    if sl is not None and not (0 < sl < reference if long else sl > reference):
        return refuse(RejectCode.INVALID_STOP_LOSS)
    return None


# What the websocket's ``orders`` channel shows: each is the next number of its account.
ORDER_EVENT_TYPES = (
    OrderPlaced,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    PositionOpened,
    PositionModified,
    PositionClosed,
    MarginCalled,
)


class Reference:
    """The engine's contract as a slow, obvious program."""

    def __init__(
        self, assets: Iterable[AssetSpec] = DEFAULT_ASSETS, dedupe_window_ms: int = DAY_MS
    ) -> None:
        self.specs: dict[str, AssetSpec] = {spec.symbol: spec for spec in assets}
        self.dedupe_window_ms = dedupe_window_ms
        self.accounts: dict[int, RefAccount] = {}
        self.positions: list[RefPosition] = []  # in order of id
        self.pending: list[RefPending] = []  # in order of id
        self.quotes: dict[str, RefQuote] = {}
        self.held: dict[str, tuple[int, int, int]] = {}  # raw bid, ask, ts
        self.house_balance = 0
        self.deposited = 0
        self.next_order_id = 1
        # request id -> (command ts of its first arrival, first outcome, its fingerprint).
        self.remembered: dict[str, tuple[int, Outcome, int | None]] = {}
        self.order_events: dict[int, int] = {}  # account id -> its order events so far
        self.withdrawals: dict[int, tuple[int, int]] = {}  # withdrawal id -> (account, cents)
        self.controls: dict[str, RefControls] = {}  # assets off the default only
        self.closes: list[PositionClosed] = []  # every close ever made, in order

    def count_order_events(self, outcome: Outcome) -> Outcome:
        """Count a new outcome's order events to their accounts; the outcome."""
        if isinstance(outcome, Accepted):
            record_closes(self, outcome.events)
            for event in outcome.events:
                if isinstance(event, ORDER_EVENT_TYPES):
                    account_id = event.account_id
                    self.order_events[account_id] = self.order_events.get(account_id, 0) + 1
        return outcome

    # -- queries ----------------------------------------------------------------------------

    def position(self, order_id: int) -> RefPosition | None:
        for pos in self.positions:
            if pos.order_id == order_id:
                return pos
        return None

    def pending_order(self, order_id: int) -> RefPending | None:
        for order in self.pending:
            if order.order_id == order_id:
                return order
        return None

    def closing_price(self, pos: RefPosition) -> int:
        quote = self.quotes[pos.asset]
        return quote.bid if pos.long else quote.ask

    def position_pnl(self, pos: RefPosition) -> int:
        return capped_pnl(
            pos.long,
            pos.open_price,
            self.closing_price(pos),
            pos.quantity,
            pos.margin,
            value_divisor(self.specs[pos.asset]),
        )

    def used_margin(self, account_id: int) -> int:
        used = 0
        for pos in self.positions:
            if pos.account_id == account_id:
                used += pos.margin
        for order in self.pending:
            if order.account_id == account_id:
                used += order.margin
        return used

    def unrealized_pnl(self, account_id: int) -> int:
        total = 0
        for pos in self.positions:
            if pos.account_id == account_id:
                total += self.position_pnl(pos)
        return total

    def withdrawals_held(self, account_id: int) -> int:
        return sum(amount for owner, amount in self.withdrawals.values() if owner == account_id)

    def free_margin(self, account_id: int) -> int:
        # Unrealized profit is not free margin; unrealized losses reduce it, and so do the
        # cents held for withdrawals.
        balance = self.accounts[account_id].balance
        upnl = self.unrealized_pnl(account_id)
        used = self.used_margin(account_id) + self.withdrawals_held(account_id)
        return balance + min(0, upnl) - used

    def view(self, account_id: int) -> RefAccountView:
        balance = self.accounts[account_id].balance
        upnl = self.unrealized_pnl(account_id)
        used = self.used_margin(account_id)
        equity = balance + upnl
        return RefAccountView(
            account_id=account_id,
            balance=balance,
            equity=equity,
            used_margin=used,
            free_margin=self.free_margin(account_id),
            margin_level_bps=equity * BPS // used if used else None,
            unrealized_pnl=upnl,
        )

    def risk(self, kind: AccountKind, ts: int | None = None) -> Risk:
        """The risk console's figures, recounted from every position and close."""
        return brute_risk(self, kind, ts)

    def fresh_quote(self, asset: str, ts: int) -> RefQuote | Rejection:
        quote = self.quotes.get(asset)
        if quote is None:
            return refuse(RejectCode.PRICE_UNAVAILABLE)
        if ts - quote.ts > self.specs[asset].staleness_ms:
            return refuse(RejectCode.PRICE_STALE)
        return quote

    # -- entry point ------------------------------------------------------------------------

    def apply(self, command: Command | Tick) -> Outcome:
        """Carry out a command or tick, exactly as ``docs/engine.md`` describes."""
        if isinstance(command, Tick):
            return self.count_order_events(self._tick(command))
        # Before each command, ids that arrived more than the window before its ts are
        # forgotten (every one of them, whatever the order they arrived in).
        horizon = command.ts - self.dedupe_window_ms
        if self.remembered and min(seen[0] for seen in self.remembered.values()) < horizon:
            self.remembered = {
                request_id: seen
                for request_id, seen in self.remembered.items()
                if seen[0] >= horizon
            }
        seen = self.remembered.get(command.request_id)
        if seen is not None:
            # The same id on another request (both fingerprinted, differently) is refused.
            first, fingerprint = seen[2], command.fingerprint
            if first is not None and fingerprint is not None and first != fingerprint:
                return refuse(RejectCode.IDEMPOTENCY_KEY_REUSED)
            return seen[1]
        outcome = self.count_order_events(self._decide(command))
        self.remembered[command.request_id] = (command.ts, outcome, command.fingerprint)
        return outcome

    def _decide(self, command: Command) -> Outcome:
        if isinstance(command, OpenAccount):
            return self._open_account(command)
        if isinstance(command, Deposit):
            return self._deposit(command)
        if isinstance(command, Withdraw):
            return self._withdraw(command)
        if isinstance(command, PlaceOrder):
            return self._place_order(command)
        if isinstance(command, ModifyPosition):
            return self._modify(command)
        if isinstance(command, ClosePosition):
            return self._close(command)
        if isinstance(command, ResetDemoAccount):
            return self._reset(command)
        if isinstance(command, HoldWithdrawal):
            return self._hold(command)
        if isinstance(command, ReleaseWithdrawal | PayWithdrawal):
            return self._settle(command)
        if isinstance(command, SetAssetControls):
            return self._set_controls(command)
        return self._cancel(command)

    def _set_controls(self, cmd: SetAssetControls) -> Outcome:
        spec = self.specs.get(cmd.asset)
        if spec is None:
            return refuse(RejectCode.UNKNOWN_ASSET)
        exposure, leverage = cmd.max_net_exposure, cmd.max_live_leverage
        if exposure is not None and exposure < 0:
            return refuse(RejectCode.INVALID_CONTROLS)
        if leverage is not None and not 1 <= leverage <= spec.max_leverage:
            return refuse(RejectCode.INVALID_CONTROLS)
        was = self.controls.get(cmd.asset, RefControls())
        self.controls[cmd.asset] = RefControls(cmd.mode, exposure, leverage)
        return Accepted(
            (
                AssetControlsSet(
                    cmd.asset,
                    cmd.mode,
                    exposure,
                    leverage,
                    cmd.ts,
                    was.mode,
                    scaled_or_none(Cents, was.max_net_exposure),
                    was.max_live_leverage,
                ),
            )
        )

    # -- accounts ---------------------------------------------------------------------------

    def _open_account(self, cmd: OpenAccount) -> Outcome:
        if cmd.account_id in self.accounts:
            return refuse(RejectCode.ACCOUNT_EXISTS)
        if cmd.balance < 0:
            return refuse(RejectCode.INVALID_AMOUNT)
        self.accounts[cmd.account_id] = RefAccount(cmd.account_id, cmd.balance)
        self.deposited += cmd.balance
        return Accepted((AccountOpened(cmd.account_id, cmd.balance, cmd.ts),))

    def _deposit(self, cmd: Deposit) -> Outcome:
        account = self.accounts.get(cmd.account_id)
        if account is None:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        if cmd.amount <= 0:
            return refuse(RejectCode.INVALID_AMOUNT)
        account.balance += cmd.amount
        self.deposited += cmd.amount
        return Accepted((FundsDeposited(cmd.account_id, cmd.amount, cmd.ts),))

    def _withdraw(self, cmd: Withdraw) -> Outcome:
        account = self.accounts.get(cmd.account_id)
        if account is None:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        if cmd.amount <= 0:
            return refuse(RejectCode.INVALID_AMOUNT)
        if cmd.amount > account.balance or cmd.amount > self.free_margin(cmd.account_id):
            return refuse(RejectCode.INSUFFICIENT_BALANCE)
        account.balance -= cmd.amount
        self.deposited -= cmd.amount
        return Accepted((FundsWithdrawn(cmd.account_id, cmd.amount, cmd.ts),))

    def _hold(self, cmd: HoldWithdrawal) -> Outcome:
        if cmd.account_id not in self.accounts:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        if cmd.amount <= 0:
            return refuse(RejectCode.INVALID_AMOUNT)
        if cmd.withdrawal_id in self.withdrawals:
            return refuse(RejectCode.WITHDRAWAL_EXISTS)
        if cmd.amount > self.free_margin(cmd.account_id):
            return refuse(RejectCode.INSUFFICIENT_BALANCE)
        self.withdrawals[cmd.withdrawal_id] = (cmd.account_id, cmd.amount)
        return Accepted((WithdrawalHeld(cmd.withdrawal_id, cmd.account_id, cmd.amount, cmd.ts),))

    def _settle(self, cmd: ReleaseWithdrawal | PayWithdrawal) -> Outcome:
        """A release gives the held cents back; a payment takes them out of the balance."""
        if cmd.account_id not in self.accounts:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        held = self.withdrawals.get(cmd.withdrawal_id)
        if held is None or held[0] != cmd.account_id:
            return refuse(RejectCode.WITHDRAWAL_NOT_FOUND)
        del self.withdrawals[cmd.withdrawal_id]
        amount = Cents(held[1])
        if isinstance(cmd, ReleaseWithdrawal):
            return Accepted(
                (WithdrawalReleased(cmd.withdrawal_id, cmd.account_id, amount, cmd.ts),)
            )
        self.accounts[cmd.account_id].balance -= amount
        self.deposited -= amount
        return Accepted((WithdrawalPaid(cmd.withdrawal_id, cmd.account_id, amount, cmd.ts),))

    def _reset(self, cmd: ResetDemoAccount) -> Outcome:
        """Every position closed whole, every entry cancelled, the balance set to the demo
        balance; nothing at all if any of the positions' quotes is missing or stale."""
        account = self.accounts.get(cmd.account_id)
        if account is None:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        mine = [pos for pos in self.positions if pos.account_id == cmd.account_id]
        for pos in mine:
            if halted(self, pos.asset):
                return refuse(RejectCode.ASSET_HALTED)
            quote = self.fresh_quote(pos.asset, cmd.ts)
            if isinstance(quote, Rejection):
                return quote
        events: list[Event] = [
            self._close_part(pos, CloseReason.CLOSED, pos.quantity, pos.margin, cmd.ts)
            for pos in mine
        ]
        for order in [o for o in self.pending if o.account_id == cmd.account_id]:
            self.pending.remove(order)
            events.append(
                OrderCancelled(order.order_id, order.account_id, Cents(order.margin), cmd.ts)
            )
        for withdrawal_id in sorted(self.withdrawals):
            owner, amount = self.withdrawals[withdrawal_id]
            if owner == cmd.account_id:
                del self.withdrawals[withdrawal_id]
                events.append(WithdrawalReleased(withdrawal_id, owner, Cents(amount), cmd.ts))
        difference = DEMO_BALANCE_CENTS - account.balance
        account.balance += difference
        self.deposited += difference
        if difference > 0:
            events.append(FundsDeposited(cmd.account_id, Cents(difference), cmd.ts))
        elif difference < 0:
            events.append(FundsWithdrawn(cmd.account_id, Cents(-difference), cmd.ts))
        return Accepted(tuple(events))

    # -- orders -----------------------------------------------------------------------------

    def _place_order(self, cmd: PlaceOrder) -> Outcome:
        if cmd.account_id not in self.accounts:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        spec = self.specs.get(cmd.asset)
        if spec is None:
            return refuse(RejectCode.UNKNOWN_ASSET)
        if not 1 <= cmd.leverage <= spec.max_leverage:
            return refuse(RejectCode.LEVERAGE_OUT_OF_RANGE)
        if cmd.quantity is UNSET:
            if cmd.margin <= 0:
                return refuse(RejectCode.INVALID_MARGIN)
        elif cmd.margin != 0 or cmd.quantity <= 0 or cmd.quantity % quantity_step(spec) != 0:
            return refuse(RejectCode.INVALID_QUANTITY)
        is_market = cmd.order_type is OrderType.MARKET
        if is_market and cmd.price is not None:
            return refuse(RejectCode.INVALID_ORDER_PRICE)
        if not is_market and (cmd.price is None or cmd.price <= 0):
            return refuse(RejectCode.INVALID_ORDER_PRICE)
        if cmd.trailing_distance is not None and cmd.trailing_distance <= 0:
            return refuse(RejectCode.INVALID_TRAILING_DISTANCE)
        if cmd.expires_at is not None and (
            is_market or cmd.expires_at <= cmd.ts or cmd.expires_at > cmd.ts + 366 * DAY_MS
        ):
            return refuse(RejectCode.INVALID_EXPIRY)
        if (
            (cmd.expected_price is not None and cmd.expected_price <= 0)
            or (cmd.slippage_bps is not None and not 0 <= cmd.slippage_bps <= BPS)
            or (cmd.slippage_bps is not None and cmd.expected_price is None)
        ):
            return refuse(RejectCode.INVALID_SLIPPAGE)
        problem = order_refused(self, cmd.asset, cmd.account_id, cmd.leverage)
        if problem is not None:
            return problem
        quote = self.fresh_quote(cmd.asset, cmd.ts)
        if isinstance(quote, Rejection):
            return quote
        if is_market:
            return self._open_market(cmd, quote)
        return self._place_pending(cmd, spec, quote)

    def _open_market(self, cmd: PlaceOrder, quote: RefQuote) -> Outcome:
        long = cmd.side is Side.LONG
        fill = quote.ask if long else quote.bid
        expected, bps = cmd.expected_price, cmd.slippage_bps
        if expected is not None and bps is not None:
            if long and fill * BPS > expected * (BPS + bps):
                return refuse(RejectCode.SLIPPAGE_EXCEEDED)
            if not long and fill * BPS < expected * (BPS - bps):
                return refuse(RejectCode.SLIPPAGE_EXCEEDED)
        closing = quote.bid if long else quote.ask
        problem = exits_problem(long, closing, cmd.take_profit, cmd.stop_loss)
        if problem is not None:
            return problem
        fixed = None if cmd.quantity is UNSET else int(cmd.quantity)
        spec = self.specs[cmd.asset]
        margin = cmd.margin if fixed is None else margin_held(fixed, fill, cmd.leverage, spec)
        if margin > self.free_margin(cmd.account_id):
            return refuse(RejectCode.INSUFFICIENT_BALANCE)
        opened = self._open(
            self.next_order_id,
            cmd.account_id,
            cmd.asset,
            cmd.side,
            OrderType.MARKET,
            margin,
            cmd.leverage,
            cmd.take_profit,
            cmd.stop_loss,
            cmd.trailing_distance,
            fill,
            cmd.ts,
            fixed,
        )
        if isinstance(opened, Rejection):
            return opened
        self.next_order_id += 1
        return Accepted((opened,))

    def _open(
        self,
        order_id: int,
        account_id: int,
        asset: str,
        side: Side,
        order_type: OrderType,
        margin: int,
        leverage: int,
        tp: int | None,
        sl: int | None,
        trailing: int | None,
        price: int,
        ts: int,
        quantity: int | None,
    ) -> PositionOpened | Rejection:
        """Open a position at ``price`` now, or say why it cannot be (rules 13 and 14)."""
        spec = self.specs[asset]
        long = side is Side.LONG
        raw = margin * leverage * value_divisor(spec) // price
        qty = raw - raw % quantity_step(spec) if quantity is None else quantity
        if qty == 0:
            return refuse(RejectCode.POSITION_TOO_SMALL)
        liq = liquidation_level(long, price, qty, margin, spec)
        quote = self.quotes[asset]
        if (quote.mark <= liq) if long else (quote.mark >= liq):
            return refuse(RejectCode.WOULD_LIQUIDATE)
        if sl is not None and (sl <= liq if long else sl >= liq):
            return refuse(RejectCode.STOP_LOSS_BEYOND_LIQUIDATION)
        problem = exposure_refused(self, asset, account_id, long, qty)
        if problem is not None:
            return problem
        armed_at = None if trailing is None else (quote.bid if long else quote.ask)
        self.positions.append(
            RefPosition(
                order_id,
                account_id,
                asset,
                side,
                margin,
                leverage,
                qty,
                price,
                liq,
                tp,
                sl,
                trailing,
                ts,
                armed_at,
            )
        )
        self.positions.sort(key=lambda p: p.order_id)
        return PositionOpened(
            order_id,
            account_id,
            asset,
            side,
            order_type,
            Cents(margin),
            leverage,
            QtyUnits(qty),
            PriceTicks(price),
            PriceTicks(liq),
            scaled_or_none(PriceTicks, tp),
            scaled_or_none(PriceTicks, sl),
            scaled_or_none(PriceTicks, trailing),
            ts,
        )

    def _place_pending(self, cmd: PlaceOrder, spec: AssetSpec, quote: RefQuote) -> Outcome:
        long = cmd.side is Side.LONG
        price = cmd.price
        assert price is not None
        if crosses(long, cmd.order_type, price, quote.bid, quote.ask):
            return refuse(RejectCode.INVALID_ORDER_PRICE)
        problem = exits_problem(long, price, cmd.take_profit, cmd.stop_loss)
        if problem is not None:
            return problem
        fixed = None if cmd.quantity is UNSET else int(cmd.quantity)
        margin = cmd.margin if fixed is None else margin_held(fixed, price, cmd.leverage, spec)
        if margin > self.free_margin(cmd.account_id):
            return refuse(RejectCode.INSUFFICIENT_BALANCE)
        raw = margin * cmd.leverage * value_divisor(spec) // price
        qty = raw - raw % quantity_step(spec) if fixed is None else fixed
        if qty == 0:
            return refuse(RejectCode.POSITION_TOO_SMALL)
        # The stop-loss against the liquidation price the entry would have at its own price.
        sl = cmd.stop_loss
        if sl is not None:
            liq = liquidation_level(long, price, qty, margin, spec)
            if sl <= liq if long else sl >= liq:
                return refuse(RejectCode.STOP_LOSS_BEYOND_LIQUIDATION)
        problem = exposure_refused(self, cmd.asset, cmd.account_id, long, qty)
        if problem is not None:
            return problem
        order_id = self.next_order_id
        self.next_order_id += 1
        self.pending.append(
            RefPending(
                order_id,
                cmd.account_id,
                cmd.asset,
                cmd.side,
                cmd.order_type,
                price,
                margin,
                cmd.leverage,
                cmd.take_profit,
                cmd.stop_loss,
                cmd.trailing_distance,
                cmd.expires_at,
                cmd.ts,
                fixed,
            )
        )
        return Accepted(
            (
                OrderPlaced(
                    order_id,
                    cmd.account_id,
                    cmd.asset,
                    cmd.side,
                    cmd.order_type,
                    price,
                    Cents(margin),
                    cmd.leverage,
                    cmd.take_profit,
                    cmd.stop_loss,
                    cmd.trailing_distance,
                    cmd.expires_at,
                    cmd.ts,
                    scaled_or_none(QtyUnits, fixed),
                ),
            )
        )

    def _cancel(self, cmd: CancelOrder) -> Outcome:
        if cmd.account_id not in self.accounts:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        order = self.pending_order(cmd.order_id)
        if order is None or order.account_id != cmd.account_id:
            return refuse(RejectCode.ORDER_NOT_FOUND)
        self.pending.remove(order)
        return Accepted(
            (OrderCancelled(order.order_id, order.account_id, Cents(order.margin), cmd.ts),)
        )

    # -- exits ------------------------------------------------------------------------------

    def _modify(self, cmd: ModifyPosition) -> Outcome:
        if cmd.account_id not in self.accounts:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        pos = self.position(cmd.order_id)
        if pos is None or pos.account_id != cmd.account_id:
            return refuse(RejectCode.ORDER_NOT_FOUND)
        tp = pos.take_profit if cmd.take_profit is UNSET else cmd.take_profit
        sl = pos.stop_loss if cmd.stop_loss is UNSET else cmd.stop_loss
        trailing = (
            pos.trailing_distance if cmd.trailing_distance is UNSET else cmd.trailing_distance
        )
        if trailing is not None and trailing <= 0:
            return refuse(RejectCode.INVALID_TRAILING_DISTANCE)
        new_tp = None if cmd.take_profit is UNSET else cmd.take_profit
        new_sl = None if cmd.stop_loss is UNSET else cmd.stop_loss
        problem = exits_problem(pos.long, self.closing_price(pos), new_tp, new_sl)
        if problem is not None:
            return problem
        liq = pos.liquidation_price
        if new_sl is not None and (new_sl <= liq if pos.long else new_sl >= liq):
            return refuse(RejectCode.STOP_LOSS_BEYOND_LIQUIDATION)
        rearm = cmd.trailing_distance is not UNSET and cmd.trailing_distance is not None
        pos.take_profit, pos.stop_loss, pos.trailing_distance = tp, sl, trailing
        if rearm:
            pos.extreme = self.closing_price(pos)
        elif trailing is None:
            pos.extreme = None
        return Accepted(
            (
                PositionModified(
                    pos.order_id,
                    pos.account_id,
                    scaled_or_none(PriceTicks, tp),
                    scaled_or_none(PriceTicks, sl),
                    scaled_or_none(PriceTicks, trailing),
                    rearm,
                    cmd.ts,
                ),
            )
        )

    def _close(self, cmd: ClosePosition) -> Outcome:
        if cmd.account_id not in self.accounts:
            return refuse(RejectCode.UNKNOWN_ACCOUNT)
        pos = self.position(cmd.order_id)
        if pos is None or pos.account_id != cmd.account_id:
            return refuse(RejectCode.ORDER_NOT_FOUND)
        if not 1 <= cmd.fraction_bps <= BPS:
            return refuse(RejectCode.INVALID_FRACTION)
        if halted(self, pos.asset):
            return refuse(RejectCode.ASSET_HALTED)
        quote = self.fresh_quote(pos.asset, cmd.ts)
        if isinstance(quote, Rejection):
            return quote
        if cmd.fraction_bps == BPS:
            return Accepted(
                (self._close_part(pos, CloseReason.CLOSED, pos.quantity, pos.margin, cmd.ts),)
            )
        step = quantity_step(self.specs[pos.asset])
        qty = pos.quantity * cmd.fraction_bps // BPS
        qty -= qty % step
        margin = pos.margin * cmd.fraction_bps // BPS
        if qty == 0 or margin == 0:
            return refuse(RejectCode.CLOSE_TOO_SMALL)
        return Accepted((self._close_part(pos, CloseReason.CLOSED, qty, margin, cmd.ts),))

    def _close_part(
        self, pos: RefPosition, reason: CloseReason, qty: int, margin: int, ts: int
    ) -> PositionClosed:
        """Close ``qty`` of ``pos`` at its closing price, releasing ``margin``."""
        spec = self.specs[pos.asset]
        price = self.closing_price(pos)
        profit = capped_pnl(pos.long, pos.open_price, price, qty, margin, value_divisor(spec))
        self.accounts[pos.account_id].balance += profit
        self.house_balance -= profit
        rest_qty, rest_margin = pos.quantity - qty, pos.margin - margin
        liq: int | None = None
        if rest_qty == 0:
            self.positions.remove(pos)
        else:
            liq = liquidation_level(pos.long, pos.open_price, rest_qty, rest_margin, spec)
            pos.quantity, pos.margin, pos.liquidation_price = rest_qty, rest_margin, liq
        return PositionClosed(
            pos.order_id,
            pos.account_id,
            pos.asset,
            pos.side,
            reason,
            QtyUnits(qty),
            Cents(margin),
            PriceTicks(pos.open_price),
            PriceTicks(price),
            Cents(profit),
            QtyUnits(rest_qty),
            Cents(rest_margin),
            None if liq is None else PriceTicks(liq),
            ts,
            pos.leverage,
            pos.opened_at,
        )

    # -- ticks ------------------------------------------------------------------------------

    def _tick(self, tick: Tick) -> Outcome:
        spec = self.specs.get(tick.asset)
        if spec is None:
            return refuse(RejectCode.UNKNOWN_ASSET)
        if not 0 < tick.bid <= tick.ask:
            return refuse(RejectCode.INVALID_QUOTE)
        current = self.quotes.get(tick.asset)
        if current is not None and tick.ts < current.ts:
            return refuse(RejectCode.TICK_OUT_OF_ORDER)
        mid = (tick.bid + tick.ask) // 2
        band = spec.sanity_band_bps
        if current is not None and abs(mid - current.mark) * BPS > band * current.mark:
            held = self.held.get(tick.asset)
            held_mid = None if held is None else (held[0] + held[1]) // 2
            if held_mid is None or abs(mid - held_mid) * BPS > band * held_mid:
                self.held[tick.asset] = (tick.bid, tick.ask, tick.ts)
                return Accepted((TickHeld(tick.asset, tick.bid, tick.ask, tick.ts),))
        before = None if current is None else current.mark
        open_before = {p.order_id for p in self.positions if p.asset == tick.asset}
        markup = spec.spread_markup_bps
        bid = max(1, tick.bid - ceil_div(tick.bid * markup, 2 * BPS))
        ask = tick.ask + ceil_div(tick.ask * markup, 2 * BPS)
        self.quotes[tick.asset] = RefQuote(bid, ask, mid, tick.ts)
        self.held.pop(tick.asset, None)
        events: list[Event] = [
            QuoteUpdated(tick.asset, PriceTicks(bid), PriceTicks(ask), mid, tick.ts)
        ]

        # 2. Every trailing stop's own peak or trough follows the new quote.
        for pos in self.positions:
            if pos.asset == tick.asset and pos.extreme is not None:
                pos.extreme = max(pos.extreme, bid) if pos.long else min(pos.extreme, ask)

        # 3. Expiries, by ascending order id.
        for order in sorted(self.pending, key=lambda o: o.order_id):
            expires_at = order.expires_at
            if order.asset == tick.asset and expires_at is not None and expires_at <= tick.ts:
                self.pending.remove(order)
                events.append(
                    OrderExpired(order.order_id, order.account_id, Cents(order.margin), tick.ts)
                )

        # 4. Fills, by ascending order id.
        for order in sorted(self.pending, key=lambda o: o.order_id):
            if order.asset != tick.asset:
                continue
            if not crosses(order.long, order.order_type, order.price, bid, ask):
                continue
            fill = ask if order.long else bid
            margin = order.margin
            if order.quantity is not None:
                # Sized by quantity: its margin at the fill's price, any increase from free
                # margin (judged while the entry still holds what it reserved).
                margin = margin_held(order.quantity, fill, order.leverage, self.specs[order.asset])
            short = margin - order.margin > self.free_margin(order.account_id)
            self.pending.remove(order)
            opened = (
                refuse(RejectCode.ASSET_HALTED)
                if halted(self, order.asset)
                else refuse(RejectCode.INSUFFICIENT_BALANCE)
                if order.quantity is not None and short
                else self._open(
                    order.order_id,
                    order.account_id,
                    order.asset,
                    order.side,
                    order.order_type,
                    margin,
                    order.leverage,
                    order.take_profit,
                    order.stop_loss,
                    order.trailing_distance,
                    fill,
                    tick.ts,
                    order.quantity,
                )
            )
            if isinstance(opened, Rejection):
                events.append(
                    OrderRejected(
                        order.order_id, order.account_id, Cents(order.margin), opened.code, tick.ts
                    )
                )
            else:
                events.append(opened)

        # 5. Exits, by ascending order id, each for its first reason.
        for pos in list(self.positions):
            if pos.asset != tick.asset:
                continue
            reason = self.exit_reason(pos)
            if reason is not None:
                events.append(self._close_part(pos, reason, pos.quantity, pos.margin, tick.ts))

        # 6. Margin calls: open before the tick and still open, above the call price before
        # it and at or past it now.
        if before is not None:
            for pos in self.positions:
                if (
                    pos.order_id in open_before
                    and not under_margin_call(pos, before, spec)
                    and under_margin_call(pos, mid, spec)
                ):
                    pnl = capped_pnl(
                        pos.long, pos.open_price, mid, pos.quantity, pos.margin, value_divisor(spec)
                    )
                    level = (pos.margin + pnl) * BPS // pos.margin
                    events.append(
                        MarginCalled(
                            pos.order_id, pos.account_id, pos.asset, mid, Bps(level), tick.ts
                        )
                    )
        return Accepted(tuple(events))

    def exit_reason(self, pos: RefPosition) -> CloseReason | None:
        """The first exit the current quote has reached: liquidation, SL, trailing, TP."""
        quote = self.quotes[pos.asset]
        if pos.long:
            if quote.mark <= pos.liquidation_price:
                return CloseReason.LIQUIDATED
            if pos.stop_loss is not None and quote.bid <= pos.stop_loss:
                return CloseReason.STOP_LOSS
            if (
                pos.trailing_distance is not None
                and pos.extreme is not None
                and quote.bid <= pos.extreme - pos.trailing_distance
            ):
                return CloseReason.TRAILING_STOP
            if pos.take_profit is not None and quote.bid >= pos.take_profit:
                return CloseReason.TAKE_PROFIT
            return None
        if quote.mark >= pos.liquidation_price:
            return CloseReason.LIQUIDATED
        if pos.stop_loss is not None and quote.ask >= pos.stop_loss:
            return CloseReason.STOP_LOSS
        if (
            pos.trailing_distance is not None
            and pos.extreme is not None
            and quote.ask >= pos.extreme + pos.trailing_distance
        ):
            return CloseReason.TRAILING_STOP
        if pos.take_profit is not None and quote.ask <= pos.take_profit:
            return CloseReason.TAKE_PROFIT
        return None
