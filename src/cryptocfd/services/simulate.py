"""``cryptocfd simulate``: a short simulated trading session, live in the terminal.

A seeded feed moves six assets; a handful of scripted traders open, adjust and close positions
against the real engine; a live table shows their positions, PnL and accounts, and the session
ends by proving that money was conserved to the cent.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import Bps, Cents, PriceTicks, format_cents, format_scaled
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.trading.commands import ClosePosition, OpenAccount, PlaceOrder, Side
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted, PositionClosed, PositionOpened
from cryptocfd.trading.rejections import Rejection

TRADERS = ("ada", "bram", "chen", "dara", "eli")
TICK_MS = 100  # ten ticks a second per asset, in simulated time


@dataclass
class Session:
    """The engine, the feed and what the screen shows of them."""

    engine: Engine
    feed: SimulatedFeed
    rng: random.Random
    now: int = 0
    requests: int = 0
    log: list[Text] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def request_id(self) -> str:
        self.requests += 1
        return f"sim-{self.requests}"

    def note(self, text: str, style: str) -> None:
        self.log.append(Text(f"{self.now / 1000:8.1f}s  {text}", style=style))
        del self.log[:-8]


def _spec(symbol: str) -> AssetSpec:
    return next(a for a in DEFAULT_ASSETS if a.symbol == symbol)


def _price(symbol: str, ticks: int) -> str:
    return format_scaled(ticks, _spec(symbol).price_decimals)


def _trade(session: Session, trader: int) -> None:
    """One scripted decision: mostly nothing, sometimes an open or a close."""
    rng, engine = session.rng, session.engine
    roll = rng.random()
    mine = [p for p in engine.state.positions.values() if p.account_id == trader]
    if roll < 0.010 or (roll < 0.03 and not mine):
        spec = rng.choice(DEFAULT_ASSETS)
        quote = engine.state.assets[spec.symbol].quote
        if quote is None:
            return
        side = Side.LONG if rng.random() < 0.5 else Side.SHORT
        leverage = rng.choice((5, 10, 20, min(50, spec.max_leverage)))
        tp: PriceTicks | None = None
        sl: PriceTicks | None = None
        trailing: PriceTicks | None = None
        if rng.random() < 0.4:
            trailing = PriceTicks(max(1, quote.mark * rng.randint(2, 8) // 1000))
        elif rng.random() < 0.5:
            distance = quote.mark * rng.randint(5, 20) // 1000
            closing = quote.bid if side is Side.LONG else quote.ask
            sign = 1 if side is Side.LONG else -1
            tp, sl = closing + distance * sign, closing - distance * sign
        order = PlaceOrder(
            session.request_id(),
            session.now,
            trader,
            spec.symbol,
            side,
            Cents(rng.randint(50, 600) * 100),
            leverage,
            take_profit=tp,
            stop_loss=sl,
            trailing_distance=trailing,
        )
        _record(session, TRADERS[trader - 1], engine.apply(order))
    elif roll < 0.016 and mine:
        pos = rng.choice(mine)
        fraction = Bps(rng.choice((2_500, 5_000, 10_000, 10_000)))
        close = ClosePosition(session.request_id(), session.now, trader, pos.id, fraction)
        _record(session, TRADERS[trader - 1], engine.apply(close))


def _record(session: Session, who: str, outcome: Accepted | Rejection) -> None:
    if isinstance(outcome, Rejection):
        session.note(f"{who}: refused {outcome.code}", "yellow")
        return
    for event in outcome.events:
        _describe(session, event, who)


def _describe(session: Session, event: object, who: str) -> None:
    if isinstance(event, PositionOpened):
        session.note(
            f"{who} opened #{event.order_id} {event.side} {event.asset} x{event.leverage} "
            f"at {_price(event.asset, event.open_price)}",
            "green",
        )
    elif isinstance(event, PositionClosed):
        reason = str(event.reason)
        session.counts[reason] = session.counts.get(reason, 0) + 1
        style = "red" if reason == "liquidated" else "cyan"
        share = "part of " if event.remaining_quantity else ""
        session.note(
            f"{who} {reason} {share}#{event.order_id} {event.asset} PnL {format_cents(event.pnl)}",
            style,
        )


def _screen(session: Session) -> Group:
    state = session.engine.state
    quotes = Table(title="Quotes", expand=True)
    for column in ("asset", "bid", "ask"):
        quotes.add_column(column, justify="right")
    for symbol, asset in state.assets.items():
        if asset.quote is not None:
            quotes.add_row(symbol, _price(symbol, asset.quote.bid), _price(symbol, asset.quote.ask))
    positions = Table(title="Open positions", expand=True)
    for column in ("#", "trader", "asset", "side", "lev", "margin", "open", "liq", "PnL"):
        positions.add_column(column, justify="right")
    for pos in sorted(state.positions.values(), key=lambda p: p.id)[-12:]:
        pnl = state.position_pnl(pos)
        positions.add_row(
            str(pos.id),
            TRADERS[pos.account_id - 1],
            pos.asset,
            "long" if pos.long else "short",
            f"x{pos.leverage}",
            format_cents(pos.margin),
            _price(pos.asset, pos.open_price),
            _price(pos.asset, pos.liquidation_price),
            Text(format_cents(pnl), style="green" if pnl >= 0 else "red"),
        )
    accounts = Table(title="Accounts", expand=True)
    for column in ("trader", "balance", "equity", "used margin", "free margin", "level"):
        accounts.add_column(column, justify="right")
    for account_id, name in enumerate(TRADERS, start=1):
        view = session.engine.account(account_id)
        assert not isinstance(view, Rejection)
        level = "-" if view.margin_level_bps is None else f"{view.margin_level_bps / 100:,.0f}%"
        accounts.add_row(
            name,
            format_cents(view.balance),
            format_cents(view.equity),
            format_cents(view.used_margin),
            format_cents(view.free_margin),
            level,
        )
    return Group(quotes, positions, accounts, *session.log)


def run_simulation(seconds: float = 20.0, speed: int = 20, seed: int = 7) -> int:
    """Run the session for ``seconds`` of wall time at ``speed`` times real time."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not a secret
    session = Session(Engine(), SimulatedFeed(DEFAULT_ASSETS, rng), rng)
    for account_id in range(1, len(TRADERS) + 1):
        session.engine.apply(OpenAccount(session.request_id(), 0, account_id, Cents(1_000_000)))
    console = Console()
    started = time.monotonic()
    with Live(_screen(session), console=console, refresh_per_second=8) as live:
        while time.monotonic() - started < seconds:
            for _ in range(speed):
                session.now += TICK_MS
                for tick in session.feed.step(session.now, TICK_MS):
                    outcome = session.engine.apply(tick)
                    if isinstance(outcome, Accepted):
                        for event in outcome.events[1:]:
                            owner = getattr(event, "account_id", 0)
                            _describe(session, event, TRADERS[owner - 1])
                for trader in range(1, len(TRADERS) + 1):
                    _trade(session, trader)
            live.update(_screen(session))
            time.sleep(TICK_MS / 1000)
    state = session.engine.state
    console.print()
    balances = sum((a.balance for a in state.accounts.values()), Cents(0))
    conserved = balances + state.house_balance == state.deposited
    console.print(
        f"{session.now / 1000:,.0f} simulated seconds, {session.requests} requests, "
        f"closes by reason {session.counts}. Traders {format_cents(balances)} + house "
        f"{format_cents(state.house_balance)} = deposits {format_cents(state.deposited)}: "
        f"{'conserved' if conserved else 'NOT CONSERVED'}. State hash "
        f"{session.engine.state_hash()[:16]}."
    )
    return 0 if conserved else 1
