"""``cryptocfd bench engine``: the pure engine's throughput, tick cost, burst and memory.

One process, one core. Commands are built before the clock starts; only ``Engine.apply`` is
timed. Options: ``--runs N`` (default 5), ``--positions N`` (default 1,000,000 for the tick and
memory figures), ``--commands N`` (default 300,000), ``--burst N`` (default 10,000).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import time
from typing import Any

from cryptocfd.bench._common import report
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import ClosePosition, OpenAccount, OrderType, PlaceOrder, Side
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted

ACCOUNTS = 10_000
RICH = Cents(10**12)  # cents: enough that no order in the mix runs out of margin
PRICES = {"BTC": PriceTicks(6_000_000), "ETH": PriceTicks(300_000), "SOL": PriceTicks(150_000)}


def _engine(accounts: int, dedupe_window_ms: int = 86_400_000) -> Engine:
    engine = Engine(dedupe_window_ms=dedupe_window_ms)
    for account in range(1, accounts + 1):
        engine.apply(OpenAccount(f"a{account}", 0, account, RICH))
    for asset, price in PRICES.items():
        engine.apply(Tick(asset, price, price + price // 10_000, 0))
    return engine


def _mix(count: int, rng: random.Random) -> list[Any]:
    """60% market opens, 30% closes of open positions, 10% limit orders, ids predicted."""
    commands: list[Any] = []
    open_ids: list[int] = []
    next_id = 1
    for n in range(count):
        roll = rng.random()
        account = rng.randint(1, ACCOUNTS)
        asset = rng.choice(tuple(PRICES))
        side = Side.LONG if rng.random() < 0.5 else Side.SHORT
        if roll < 0.3 and open_ids:
            slot = rng.randrange(len(open_ids))
            open_ids[slot], open_ids[-1] = open_ids[-1], open_ids[slot]
            order_id, owner = divmod(open_ids.pop(), 1 << 20)
            commands.append(ClosePosition(f"c{n}", 1, owner, order_id))
            continue
        margin = Cents(rng.randint(1_000, 100_000))
        leverage = rng.randint(1, 50)
        if roll < 0.4:
            price = PRICES[asset] * (8 if side is Side.LONG else 12) // 10
            commands.append(
                PlaceOrder(
                    f"c{n}", 1, account, asset, side, margin, leverage, OrderType.LIMIT, price
                )
            )
        else:
            commands.append(PlaceOrder(f"c{n}", 1, account, asset, side, margin, leverage))
            open_ids.append(next_id << 20 | account)
        next_id += 1
    return commands


def commands_per_s(count: int, seed: int) -> float:
    """Apply the command mix to 10,000 accounts; every command must be accepted."""
    engine = _engine(ACCOUNTS)
    commands = _mix(count, random.Random(seed))
    apply = engine.apply
    gc.collect()
    started = time.perf_counter()
    outcomes = [apply(c) for c in commands]
    elapsed = time.perf_counter() - started
    refused = sum(1 for o in outcomes if not isinstance(o, Accepted))
    assert refused == 0, f"{refused} commands were refused: the mix is wrong"
    return count / elapsed


def _fill(engine: Engine, positions: int, rng: random.Random) -> None:
    """Open ``positions`` positions far from liquidation, a fifth with exits, some trailing."""
    for n in range(positions):
        ts = 2 + n // 1000
        if n % 1000 == 0:  # keep quotes fresh as command time moves on
            for symbol, quote in PRICES.items():
                engine.apply(Tick(symbol, quote, quote + quote // 10_000, ts))
        asset = ("BTC", "ETH", "SOL")[n % 3]
        price = PRICES[asset]
        long = n % 2 == 0
        tp: PriceTicks | None = None
        sl: PriceTicks | None = None
        trailing: PriceTicks | None = None
        if n % 5 == 0:
            tp = price * (12 if long else 8) // 10
            sl = price * (8 if long else 12) // 10
        elif n % 10 in (1, 2):
            trailing = price // 10
        engine.apply(
            PlaceOrder(
                f"p{n}",
                ts,
                rng.randint(1, ACCOUNTS),
                asset,
                Side.LONG if long else Side.SHORT,
                Cents(10_000),
                2,
                take_profit=tp,
                stop_loss=sl,
                trailing_distance=trailing,
            )
        )


def ticks_per_s(engine: Engine, count: int) -> float:
    """Ticks that move each asset by a tick or two either way: nothing fires."""
    quote = engine.state.assets["BTC"].quote
    assert quote is not None
    start = quote.ts + 1
    ticks = []
    for n in range(count):
        asset = ("BTC", "ETH", "SOL")[n % 3]
        price = PRICES[asset] + PriceTicks((n // 3) % 3 - 1)
        ticks.append(Tick(asset, price, price + PRICES[asset] // 10_000, start + n // 3))
    apply = engine.apply
    gc.collect()
    started = time.perf_counter()
    for tick in ticks:
        apply(tick)
    elapsed = time.perf_counter() - started
    return count / elapsed


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096


def memory_and_ticks(positions: int, ticks: int, seed: int, window: int) -> dict[str, float]:
    """Bytes per position (and, with no dedupe, ticks/s) in this process as it is now."""
    engine = _engine(ACCOUNTS, dedupe_window_ms=window)
    gc.collect()
    base = _rss_bytes()
    _fill(engine, positions, random.Random(seed))
    gc.collect()
    out = {"bytes": (_rss_bytes() - base) / positions}
    if window == 0:
        out["ticks_per_s"] = ticks_per_s(engine, ticks)
    return out


def in_fresh_process(positions: int, ticks: int, seed: int, window: int) -> dict[str, float]:
    """``memory_and_ticks`` in a new interpreter: memory freed by earlier runs would otherwise
    be reused, and the resident set would not grow by what the positions really take."""
    code = (
        "import json, sys; from cryptocfd.bench import engine; "
        "print(json.dumps(engine.memory_and_ticks(*map(int, sys.argv[1:]))))"
    )
    args = [str(positions), str(ticks), str(seed), str(window)]
    done = subprocess.run(  # noqa: S603 - our own interpreter and benchmark
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def liquidation_burst_ms(count: int) -> float:
    """One tick that liquidates ``count`` longs on BTC, all opened at 50x."""
    engine = _engine(100)
    price = PRICES["BTC"]
    for n in range(count):
        engine.apply(PlaceOrder(f"l{n}", 1, 1 + n % 100, "BTC", Side.LONG, Cents(10_000), 50))
    crash = price * 95 // 100
    gc.collect()
    started = time.perf_counter()
    outcome = engine.apply(Tick("BTC", crash, crash + PriceTicks(10), 2))
    elapsed = time.perf_counter() - started
    assert isinstance(outcome, Accepted) and len(outcome.events) == count + 1
    return elapsed * 1000


def main(argv: list[str]) -> int:
    """Run every figure ``--runs`` times and report the medians."""
    parser = argparse.ArgumentParser(prog="cryptocfd bench engine")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--commands", type=int, default=300_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=600_000)
    parser.add_argument("--commands-only", action="store_true", help="only commands_per_s")
    args = parser.parse_args(argv)
    figures: dict[str, list[float]] = {
        "commands_per_s": [],
        "ticks_per_s": [],
        "liquidation_burst_ms": [],
        "bytes_per_position": [],
        "bytes_per_position_with_dedupe": [],
    }
    # Each figure's runs together, the command mix first. Memory and ticks are measured in a
    # fresh interpreter per run.
    for run in range(args.runs):
        figures["commands_per_s"].append(commands_per_s(args.commands, seed=run))
    if not args.commands_only:
        for _ in range(args.runs):
            figures["liquidation_burst_ms"].append(liquidation_burst_ms(args.burst))
        for run in range(args.runs):
            plain = in_fresh_process(args.positions, args.ticks, run, 0)
            figures["bytes_per_position"].append(plain["bytes"])
            figures["ticks_per_s"].append(plain["ticks_per_s"])
            remembered = in_fresh_process(args.positions, args.ticks, run, 86_400_000)
            figures["bytes_per_position_with_dedupe"].append(remembered["bytes"])
    report(
        "engine",
        {name: values for name, values in figures.items() if values},
        {
            "commands_per_s": ">= 200,000",
            "ticks_per_s": ">= 500,000 (1M positions, nothing fires)",
            "liquidation_burst_ms": f"< 50 ({args.burst:,} liquidations in one tick)",
            "bytes_per_position": "<= 500 (indexes included)",
        },
    )
    return 0
