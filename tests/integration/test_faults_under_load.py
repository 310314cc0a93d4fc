"""Faults under load: the whole platform as real processes (Redis with AOF, a private
PostgreSQL, a leading engine and its standby, a gateway, the worker) serves many concurrent
traders over HTTP while faults strike one at a time. After each, with the load paused, nothing
acknowledged is lost or applied twice, every balance is its deposit plus realized PnL to the
cent, ``cryptocfd reconcile`` is clean, and the standby's state hash is the leader's.

The short run (every fault once, each brought back at once, a light load: under a minute) is part
of ``make test``; ``CRYPTOCFD_FAULTS_FULL=1`` runs every fault twice, outages held for 5 s, under
a longer load (docs/operations.md, "Faults under load"). Each run prints a table per fault and,
last, one JSON line (``faults: {...}``) with the same figures.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cryptocfd.settings import load_settings
from cryptocfd.store.keyfiles import server_key
from tests.integration.fault_checks import check_everything
from tests.integration.fault_load import Load, window
from tests.integration.fault_platform import FaultPlatform, fault_platform
from tests.integration.faults import FAULTS, Fault

pytestmark = pytest.mark.slow  # the whole platform, restarted piece by piece

FULL_RUN = os.environ.get("CRYPTOCFD_FAULTS_FULL") == "1"
COLUMNS = ("requests", "2xx", "4xx", "5xx", "500", "no_answer", "unavailable_s", "lost", "doubled")


def table(rows: list[dict[str, Any]]) -> str:
    """The figures per fault, as a plain table."""
    head = f"{'fault':<20}" + "".join(f"{c:>14}" for c in COLUMNS)
    lines = [head] + [
        f"{row['fault']:<20}" + "".join(f"{row[c]!s:>14}" for c in COLUMNS) for row in rows
    ]
    return "\n".join(lines)


async def struck(
    platform: FaultPlatform, load: Load, fault: Fault, before: int, hold_s: float
) -> dict[str, Any]:
    """Run the load for ``before`` acknowledgements, inject ``fault``, trade on for half as
    many, pause and check: the figures of the fault's window and what the checks found."""
    await load.acks_after(before)
    load.marked = load.now()
    said = await fault(platform, load, hold_s)
    await load.acks_after(before // 2)  # trading again, for a while
    await load.pause()
    figures = window(load, load.marked, load.now())
    verdict = await check_everything(platform, load)
    load.resume()
    return {"did": said, **figures, "lost": verdict.lost, "doubled": verdict.doubled,
            "problems": verdict.problems}  # fmt: skip


async def test_platform_under_load_when_faults_strike_loses_and_doubles_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Traders; acknowledged requests before each fault; seconds an outage lasts; rounds.
    traders, before, hold_s, rounds = (20, 3_000, 5.0, 2) if FULL_RUN else (12, 150, 0.0, 1)
    faults = [(f"{name}{'#2' if n else ''}", fault) for n in range(rounds)
              for name, fault in FAULTS.items()]  # fmt: skip
    rows: list[dict[str, Any]] = []
    seen = (0, 0)
    async with fault_platform(tmp_path, lease_ttl_ms=2_000 if FULL_RUN else 1_000) as platform:
        load = Load(platform.base_url)
        key = server_key(load_settings(platform.env))
        await load.sign_in(traders, platform.postgres.url, key)
        load.start()
        try:
            for name, fault in faults:
                row = await struck(platform, load, fault, before, hold_s)
                # The checks look at everything so far: a row counts what is new since the last.
                lost, doubled = row["lost"] - seen[0], row["doubled"] - seen[1]
                seen = (row["lost"], row["doubled"])
                rows.append({"fault": name, **row, "lost": lost, "doubled": doubled})
        finally:
            await load.stop()
            with capsys.disabled():
                summary = {"full": FULL_RUN, "acknowledged": len(load.acks), "faults": rows}
                print(f"\n{table(rows)}\nfaults: {json.dumps(summary)}")

    assert [row["fault"] for row in rows] == [name for name, _fault in faults]
    for row in rows:
        assert (row["lost"], row["doubled"], row["problems"]) == (0, 0, []), row
        assert row["500"] == 0, row
    assert load.refused == []
