"""When the engine snapshots, read through its clock: a record count or an interval, whichever
comes first, and the header stamped with the clock's wall time."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from cryptocfd.core.clock import ManualClock
from cryptocfd.services.engine.snapshotting import Cadence, Snapshotter
from cryptocfd.services.snapshots import SnapshotStore
from cryptocfd.trading.engine import Engine


def snapshotter(tmp_path: Path, clock: ManualClock) -> Snapshotter:
    store = SnapshotStore(tmp_path / "snapshots", secrets.token_bytes(32), keep=3)
    return Snapshotter(store, Cadence(seconds=60.0, records=100), clock)


def test_due_when_nothing_was_written_is_false_however_long_ago(tmp_path: Path) -> None:
    clock = ManualClock()
    snapshots = snapshotter(tmp_path, clock)

    clock.advance(3_600_000)

    assert not snapshots.due()


def test_due_when_records_were_written_waits_for_the_interval_or_the_count(tmp_path: Path) -> None:
    clock = ManualClock()
    snapshots = snapshotter(tmp_path, clock)
    snapshots.records_since = 1
    clock.advance(59_900)
    early = snapshots.due()
    clock.advance(100)
    on_time = snapshots.due()
    snapshots.write_now(Engine(), "5-0")
    after_writing = snapshots.due()
    snapshots.records_since = 100

    assert (early, on_time, after_writing, snapshots.due()) == (False, True, False, True)


def test_write_now_when_the_clock_says_so_stamps_the_header_with_its_time(tmp_path: Path) -> None:
    clock = ManualClock(now_ms=1_800_000_000_000)
    snapshots = snapshotter(tmp_path, clock)

    snapshots.write_now(Engine(), "7-1")

    (written,) = snapshots.store.valid()
    assert (written.header.created_ms, written.header.last_record_id) == (1_800_000_000_000, "7-1")
    assert written.header.sequence == 1


async def test_fork_when_a_snapshot_is_taken_logs_the_engines_pause(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snapshots = snapshotter(tmp_path, ManualClock())
    caplog.set_level(logging.INFO, logger="cryptocfd.services.engine.snapshotting")

    snapshots.fork(Engine(), "9-0")
    await snapshots.wait()

    (pause,) = snapshots.stats.pauses_ms
    assert f"snapshot 1 forked: the engine paused {pause:.2f} ms" in caplog.messages
    assert snapshots.stats.taken == 1
