"""A big engine state built in-process, as its commands would build it, and written as the
newest snapshot of a state directory: how the benchmarks start engines on a million positions
without sending a million commands through Redis first.

``build`` applies the same commands the gateway would send (accounts, a tick per asset, market
orders), so the snapshot is one the engine could have written itself.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from cryptocfd.core.tick import Tick
from cryptocfd.services.snapshots import SnapshotStore, new_header, parse_key
from cryptocfd.trading.commands import OpenAccount, PlaceOrder, Side
from cryptocfd.trading.engine import Engine

T0 = 1_700_000_000_000
ASSETS = {"BTC": 6_000_000, "ETH": 300_000, "SOL": 150_000}
OPENING_BALANCE = 10**9
POSITION_MARGIN = 10_000


def build(accounts: int, positions: int, t0: int = T0) -> Engine:
    """An engine with ``accounts`` accounts and ``positions`` open positions (a tenth of them
    with trailing stops), spread over the accounts and ``ASSETS``; position ``n + 1`` belongs
    to account ``1 + n % accounts``."""
    engine = Engine()
    for account in range(1, accounts + 1):
        engine.apply(OpenAccount(f"a{account}", t0, account, OPENING_BALANCE))
    for asset, price in ASSETS.items():
        engine.apply(Tick(asset, price, price + price // 10_000, t0))
    symbols = tuple(ASSETS)
    for n in range(positions):
        side = Side.LONG if n % 2 else Side.SHORT
        trailing = ASSETS[symbols[n % 3]] // 20 if n % 10 == 0 else None
        engine.apply(
            PlaceOrder(
                f"p{n}", t0, 1 + n % accounts, symbols[n % 3], side, POSITION_MARGIN, 3,
                trailing_distance=trailing,
            )
        )  # fmt: skip
    return engine


def write_snapshot(
    state_dir: Path, key_hex: str, engine: Engine, last_record_id: str, sequence: int = 1
) -> Path:
    """Write ``engine`` as snapshot ``sequence`` where ``cryptocfd engine`` with this state
    directory and key looks for its snapshots; the file written."""
    store = SnapshotStore(state_dir / "snapshots", parse_key(key_hex))
    header = new_header(sequence, last_record_id, engine.state_hash(), T0)
    return store.write(msgspec.msgpack.encode(engine.image()), header)
