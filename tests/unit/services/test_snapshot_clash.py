"""Two engines writing the same snapshot number at a takeover: the first file stands, the
second engine goes on under the next number, and neither leaves a temporary file behind."""

from __future__ import annotations

import secrets
from pathlib import Path

import msgspec
import pytest

from cryptocfd.core.clock import ManualClock
from cryptocfd.services.engine.snapshotting import Cadence, Snapshotter
from cryptocfd.services.snapshots import SnapshotClash, SnapshotStore, new_header
from cryptocfd.trading.commands import Deposit, OpenAccount
from cryptocfd.trading.engine import Engine


def engine_with(balance: int) -> Engine:
    engine = Engine()
    engine.apply(OpenAccount("open", 1, 1, balance))
    engine.apply(Deposit("more", 2, 1, 1))
    return engine


def image_of(engine: Engine) -> bytes:
    return msgspec.msgpack.encode(engine.image())


def test_write_when_the_number_is_taken_refuses_and_keeps_the_first_file(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, secrets.token_bytes(32))
    first, second = engine_with(1_000), engine_with(2_000)
    store.write(image_of(first), new_header(7, "10-0", first.state_hash(), 1))

    with pytest.raises(SnapshotClash):
        store.write(image_of(second), new_header(7, "20-0", second.state_hash(), 2))

    (kept,) = store.valid()
    assert kept.header.last_record_id == "10-0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot-000000000007.snap"]


def test_write_now_when_another_engine_took_its_number_writes_under_the_next(
    tmp_path: Path,
) -> None:
    key = secrets.token_bytes(32)
    old_leader = Snapshotter(SnapshotStore(tmp_path, key), Cadence(), ManualClock())
    new_leader = Snapshotter(SnapshotStore(tmp_path, key), Cadence(), ManualClock())
    old_leader.sequence = new_leader.sequence = 4  # both saw snapshot 4 as the newest

    old_leader.write_now(engine_with(1_000), "10-0")
    new_leader.write_now(engine_with(2_000), "20-0")

    newest = next(iter(new_leader.store.valid()))
    assert (newest.header.sequence, newest.header.last_record_id) == (6, "20-0")
    assert [p.name for p in new_leader.store.paths()] == [
        "snapshot-000000000006.snap",
        "snapshot-000000000005.snap",
    ]
